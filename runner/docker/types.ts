/**
 * The parts of the Docker Engine API (1.41) that the Docker side reads and writes, typed narrowly
 * and by hand: @types/dockerode lacks fields this code depends on (StopSignal, StopTimeout,
 * MaskedPaths...), and a field not listed here is copied through untouched, never interpreted.
 */

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

export interface MountPoint {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  RW: boolean;
}

export interface EndpointSettings {
  Aliases?: string[] | null;
  Links?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  DriverOpts?: Record<string, string> | null;
  NetworkID?: string;
  IPAddress?: string;
}

/** HostConfig as inspect returns it and create accepts it; unknown keys are kept as they are. */
export interface HostConfig {
  [key: string]: unknown;
  Binds?: string[] | null;
  Mounts?: Array<{ Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }> | null;
  VolumesFrom?: string[] | null;
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  PublishAllPorts?: boolean;
  Links?: string[] | null;
  Privileged?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Devices?: Array<{ PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }> | null;
  DeviceCgroupRules?: string[] | null;
  DeviceRequests?: unknown[] | null;
  SecurityOpt?: string[] | null;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  ReadonlyRootfs?: boolean;
  Sysctls?: Record<string, string> | null;
  GroupAdd?: string[] | null;
  PidMode?: string;
  IpcMode?: string;
  UTSMode?: string;
  UsernsMode?: string;
  CgroupnsMode?: string;
  Runtime?: string;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  AutoRemove?: boolean;
}

export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | string | null;
  Image?: string;
  Labels?: Record<string, string> | null;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  ExposedPorts?: Record<string, object> | null;
  Healthcheck?: HealthConfig | null;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[] | null;
  OnBuild?: string[] | null;
}

export interface InspectedContainer {
  Id: string;
  Name: string;
  Created: string;
  /** The image id (sha256:…) the container runs. */
  Image: string;
  RestartCount: number;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    ExitCode: number;
    StartedAt: string;
    Health?: {
      Status: string;
      FailingStreak?: number;
      Log?: Array<{ ExitCode: number; Output: string }> | null;
    };
  };
  Config: ContainerConfig;
  HostConfig: HostConfig;
  Mounts: MountPoint[];
  NetworkSettings: { Networks: Record<string, EndpointSettings> | null };
}

export interface InspectedImage {
  Id: string;
  RepoTags?: string[] | null;
  Config?: ContainerConfig | null;
}

/** The body of `POST /containers/create`, plus the container name (a query parameter). */
export interface CreateOptions extends ContainerConfig {
  name: string;
  Image: string;
  Labels: Record<string, string>;
  Env: string[];
  HostConfig: HostConfig;
  NetworkingConfig: { EndpointsConfig: Record<string, EndpointSettings> };
}

/** A network the new container joins after creation: API 1.41 takes only one at create time. */
export interface ExtraNetwork {
  name: string;
  settings: EndpointSettings;
}
