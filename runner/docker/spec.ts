import { z } from "zod";
import { PolicyRefusal } from "../errors.js";
import { assertNoEscalation, linksForCreate } from "./escalation.js";
import { BUILT, PINNED_LABELS, STATE, STATE_LABELS } from "./labels.js";
import { same, shortHash } from "./same.js";
import type {
  ContainerConfig,
  CreateOptions,
  EndpointSettings,
  ExtraNetwork,
  InspectedContainer,
  InspectedImage,
} from "./types.js";

/**
 * Everything a deploy may change about a container, and nothing more. There is deliberately no
 * field for mounts, capabilities, devices, namespaces or any other HostConfig: those are copied
 * from the container the new one is derived from. The schema is strict, so an object crafted
 * with any other key is refused rather than quietly ignored.
 */
const specChange = z.strictObject({
  /** The reference to create from: `repository:revision`, or an image id. */
  image: z.string().min(1),
  /** The image id that reference must resolve to. */
  imageId: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  /** The container's own env (`K=V`), on top of the image's ENV. */
  env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/)),
  /** The runner's state labels (revision, request, history...). */
  state: z.record(
    z.string().refine((k) => STATE_LABELS.includes(k), "not a state label"),
    z.string(),
  ),
});
export type SpecChange = z.infer<typeof specChange>;

/** The desired container, without its name: what every replica of one deploy is created from. */
export interface Spec {
  readonly options: Omit<CreateOptions, "name">;
  readonly extraNetworks: readonly ExtraNetwork[];
  /** The image id the options must run; checked after create, as a tag can move. */
  readonly imageId: string;
  /** Stamped on each replica as `hypercode.spec`: replicas at it are what the deploy wants. */
  readonly identity: string;
}

/**
 * The fields Docker fills in from the image when a container is created. A value equal to the
 * old image's came from that image, so it is left out and the new image's value applies; a value
 * the user set (different from the image's) is kept.
 */
const IMAGE_FIELDS = ["User", "WorkingDir", "ExposedPorts", "Volumes", "Healthcheck", "StopSignal"] as const;

/** `docker run` copies these from the request, never from the image. */
const RUN_FIELDS = [
  "Domainname",
  "Tty",
  "OpenStdin",
  "StdinOnce",
  "AttachStdin",
  "AttachStdout",
  "AttachStderr",
  "StopTimeout",
] as const;

const DOCKER_DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Env entries the container set itself, i.e. not inherited verbatim from its image. */
export const explicitEnv = (c: InspectedContainer, image: InspectedImage | undefined): string[] => {
  // Docker adds its default PATH to a container whose image sets none: not the container's choice.
  const inherited = new Set([...(image?.Config?.Env ?? []), DOCKER_DEFAULT_PATH]);
  return (c.Config.Env ?? []).filter((e) => !inherited.has(e));
};

const labelsFor = (
  c: InspectedContainer,
  image: InspectedImage | undefined,
  state: Record<string, string>,
) => {
  const own = c.Config.Labels ?? {};
  const fromImage = image?.Config?.Labels ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(own)) {
    if (STATE_LABELS.includes(k) || PINNED_LABELS.includes(k)) continue;
    if (fromImage[k] === v || Object.values(BUILT).includes(k as never)) continue;
    labels[k] = v;
  }
  // Set even when empty, so that labels in a new image cannot fill them in (see PINNED_LABELS).
  for (const k of PINNED_LABELS) labels[k] = own[k] ?? "";
  return { ...labels, ...state };
};

const configFor = (c: InspectedContainer, image: InspectedImage | undefined): ContainerConfig => {
  const cfg = c.Config;
  const img = image?.Config ?? {};
  const out: ContainerConfig = {};
  for (const f of RUN_FIELDS) if (cfg[f] !== undefined) (out as Record<string, unknown>)[f] = cfg[f];
  for (const f of IMAGE_FIELDS) {
    if (cfg[f] !== undefined && !same(cfg[f], img[f])) (out as Record<string, unknown>)[f] = cfg[f];
  }
  // Docker drops the image's Cmd when a container sets its own Entrypoint: keep the pair together.
  const ownEntrypoint = cfg.Entrypoint != null && !same(cfg.Entrypoint, img.Entrypoint);
  if (ownEntrypoint) out.Entrypoint = cfg.Entrypoint;
  if (cfg.Cmd != null && (ownEntrypoint || !same(cfg.Cmd, img.Cmd))) out.Cmd = cfg.Cmd;
  // A hostname equal to the short id is Docker's default, not a choice to copy.
  if (cfg.Hostname && cfg.Hostname !== c.Id.slice(0, 12)) out.Hostname = cfg.Hostname;
  return out;
};

/** The same networks with the same aliases, minus the old container's own short id that Docker added. */
const networksFor = (c: InspectedContainer) => {
  const networks = Object.entries(c.NetworkSettings.Networks ?? {});
  const mode = c.HostConfig.NetworkMode ?? "default";
  const primaryName =
    networks.find(([n]) => n === mode)?.[0] ?? (mode === "default" ? "bridge" : networks[0]?.[0]);
  const settings = (name: string, s: EndpointSettings): EndpointSettings => {
    // The default bridge has no DNS, and Docker refuses aliases there.
    const aliases = (s.Aliases ?? []).filter((a) => a !== c.Id.slice(0, 12));
    return {
      ...(name !== "bridge" && aliases.length > 0 ? { Aliases: aliases } : {}),
      ...(s.Links?.length ? { Links: s.Links } : {}),
      ...(s.DriverOpts && Object.keys(s.DriverOpts).length > 0 ? { DriverOpts: s.DriverOpts } : {}),
    };
  };
  const endpoints: Record<string, EndpointSettings> = {};
  const extra: ExtraNetwork[] = [];
  for (const [name, s] of networks) {
    if (name === primaryName) endpoints[name] = settings(name, s);
    else if (!mode.startsWith("container:") && mode !== "host" && mode !== "none") {
      extra.push({ name, settings: settings(name, s) });
    }
  }
  return { endpoints, extra };
};

/**
 * The create options of a container derived from `from` (the container it replaces or clones):
 * its HostConfig, networks, aliases, run-time config and pinned labels, with only what `change`
 * describes replaced. The result is checked against `from` for added privilege before it is
 * returned, so no caller can obtain escalated options from here.
 */
export const deriveSpec = (
  from: InspectedContainer,
  fromImage: InspectedImage | undefined,
  change: SpecChange,
  opts: { repository?: string; identity?: string },
): Spec => {
  const parsed = specChange.safeParse(change);
  if (!parsed.success) {
    throw new PolicyRefusal(
      "invalid_change",
      `refused a container change: ${parsed.error.issues[0]?.message}`,
    );
  }
  const c = parsed.data;
  const { endpoints, extra } = networksFor(from);
  const hostConfig = structuredClone(from.HostConfig);
  if (hostConfig.Links) hostConfig.Links = linksForCreate(hostConfig.Links);
  const options: Omit<CreateOptions, "name"> = {
    ...configFor(from, fromImage),
    Image: c.image,
    Env: c.env,
    Labels: labelsFor(from, fromImage, c.state),
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
  const identity = opts.identity ?? shortHash({ options, extra });
  options.Labels[STATE.spec] = identity;
  const spec: Spec = { options, extraNetworks: extra, imageId: c.imageId, identity };
  assertNoEscalation(from, spec, opts.repository);
  return spec;
};
