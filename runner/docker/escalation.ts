import { PolicyRefusal } from "../errors.js";
import { parseImageRef } from "./image-ref.js";
import { PINNED_LABELS } from "./labels.js";
import { same } from "./same.js";
import type { CreateOptions, ExtraNetwork, HostConfig, InspectedContainer } from "./types.js";

/**
 * The privilege check on container creation: docker-socket-proxy cannot read request bodies, so
 * this is where "a redeployed container never gets more than the one it replaces" is enforced.
 * Options are compared with the inspected container they replace; anything the new one would
 * have that the old one did not (a bind, a volume, a capability, a device, privileged mode, a
 * host namespace, a relaxed security option, another network, another image repository, another
 * policy label) is refused. HostConfig fields without a dedicated rule must simply be equal.
 */
export interface Candidate {
  readonly options: Omit<CreateOptions, "name">;
  readonly extraNetworks: readonly ExtraNetwork[];
}

const list = (v: readonly string[] | null | undefined): string[] => [...(v ?? [])];
const missingFrom = (want: string[], have: string[]): string[] => want.filter((x) => !have.includes(x));
const cap = (c: string) => c.toUpperCase().replace(/^CAP_/, "");

interface MountKey {
  type: string;
  source: string;
  target: string;
  rw: boolean;
}

/** `src:dst[:opts]`: a host path is a bind, a name is a named volume. */
const bindMount = (bind: string): MountKey => {
  const [source = "", target = "", opts = ""] = bind.split(":");
  return {
    type: source.startsWith("/") ? "bind" : "volume",
    source,
    target,
    rw: !opts.split(",").includes("ro"),
  };
};

const requestedMounts = (h: HostConfig): MountKey[] => [
  ...list(h.Binds).map(bindMount),
  ...(h.Mounts ?? []).map((m) => ({
    type: m.Type ?? "volume",
    source: m.Source ?? "",
    target: m.Target ?? "",
    rw: !m.ReadOnly,
  })),
];

/** Mounts the old container really has (inspect), keyed the same way. */
const actualMounts = (old: InspectedContainer): MountKey[] =>
  (old.Mounts ?? []).map((m) => ({
    type: m.Type,
    source: m.Type === "volume" ? (m.Name ?? m.Source) : m.Source,
    target: m.Destination,
    rw: m.RW,
  }));

const deviceKeys = (h: HostConfig) =>
  (h.Devices ?? []).map((d) => `${d.PathOnHost}:${d.PathInContainer}:${d.CgroupPermissions ?? ""}`);

const portKeys = (h: HostConfig) =>
  Object.entries(h.PortBindings ?? {}).flatMap(([port, bindings]) =>
    (bindings ?? []).map((b) => `${b.HostIp ?? ""}:${b.HostPort ?? ""}->${port}`),
  );

/** `/db:/web/db` (inspect) → `db:db` (create). */
export const linksForCreate = (links: readonly string[] | null | undefined): string[] =>
  list(links).map((l) => {
    if (!l.startsWith("/")) return l;
    const [name = "", alias = ""] = l.split(":");
    return `${name.slice(1)}:${alias.slice(alias.lastIndexOf("/") + 1)}`;
  });

const NAMESPACES = ["NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode"] as const;

/** Fields with a rule of their own below; every other HostConfig field must be equal. */
const RULED = new Set<string>([
  ...NAMESPACES,
  "Binds",
  "Mounts",
  "VolumesFrom",
  "Privileged",
  "CapAdd",
  "CapDrop",
  "Devices",
  "DeviceCgroupRules",
  "DeviceRequests",
  "SecurityOpt",
  "MaskedPaths",
  "ReadonlyPaths",
  "ReadonlyRootfs",
  "Sysctls",
  "GroupAdd",
  "PortBindings",
  "PublishAllPorts",
  "Links",
]);

const hostConfigProblems = (h: HostConfig, o: HostConfig, old: InspectedContainer): string[] => {
  const p: string[] = [];
  if (h.Privileged && !o.Privileged) p.push("privileged mode");
  const caps = missingFrom(list(h.CapAdd).map(cap), list(o.CapAdd).map(cap));
  if (caps.length) p.push(`capabilities ${caps.join(", ")}`);
  const undropped = missingFrom(list(o.CapDrop).map(cap), list(h.CapDrop).map(cap));
  if (undropped.length) p.push(`capabilities it drops (${undropped.join(", ")})`);
  const have = actualMounts(old);
  for (const m of requestedMounts(h)) {
    const ok = have.some(
      (x) => x.type === m.type && x.source === m.source && x.target === m.target && (x.rw || !m.rw),
    );
    if (!ok)
      p.push(`${m.type} mount ${m.source || "(anonymous)"} at ${m.target}${m.rw ? " (read-write)" : ""}`);
  }
  const from = missingFrom(list(h.VolumesFrom), list(o.VolumesFrom));
  if (from.length) p.push(`volumes from ${from.join(", ")}`);
  const devices = missingFrom(deviceKeys(h), deviceKeys(o));
  if (devices.length) p.push(`devices ${devices.join(", ")}`);
  const rules = missingFrom(list(h.DeviceCgroupRules), list(o.DeviceCgroupRules));
  if (rules.length) p.push(`device cgroup rules ${rules.join(", ")}`);
  if ((h.DeviceRequests ?? []).length > 0 && !same(h.DeviceRequests, o.DeviceRequests))
    p.push("device requests (GPUs)");
  for (const ns of NAMESPACES) {
    if (!same(h[ns], o[ns])) p.push(`${ns} '${h[ns] ?? ""}' instead of '${o[ns] ?? ""}'`);
  }
  if (!same([...list(h.SecurityOpt)].sort(), [...list(o.SecurityOpt)].sort())) {
    p.push(
      `security options [${list(h.SecurityOpt).join(", ")}] instead of [${list(o.SecurityOpt).join(", ")}]`,
    );
  }
  const unmasked = missingFrom(list(o.MaskedPaths), list(h.MaskedPaths));
  if (unmasked.length) p.push(`unmasked paths ${unmasked.join(", ")}`);
  const writable = missingFrom(list(o.ReadonlyPaths), list(h.ReadonlyPaths));
  if (writable.length) p.push(`writable paths ${writable.join(", ")}`);
  if (o.ReadonlyRootfs && !h.ReadonlyRootfs) p.push("a writable root filesystem");
  const sysctls = Object.entries(h.Sysctls ?? {}).filter(([k, v]) => o.Sysctls?.[k] !== v);
  if (sysctls.length) p.push(`sysctls ${sysctls.map(([k, v]) => `${k}=${v}`).join(", ")}`);
  const groups = missingFrom(list(h.GroupAdd), list(o.GroupAdd));
  if (groups.length) p.push(`groups ${groups.join(", ")}`);
  const ports = missingFrom(portKeys(h), portKeys(o));
  if (ports.length) p.push(`published ports ${ports.join(", ")}`);
  if (h.PublishAllPorts && !o.PublishAllPorts) p.push("all ports published");
  const links = missingFrom(linksForCreate(h.Links), linksForCreate(o.Links));
  if (links.length) p.push(`links ${links.join(", ")}`);
  for (const k of new Set([...Object.keys(h), ...Object.keys(o)])) {
    if (!RULED.has(k) && !same(h[k], o[k])) p.push(`HostConfig.${k} ${JSON.stringify(h[k] ?? null)}`);
  }
  return p;
};

const otherProblems = (c: Candidate, old: InspectedContainer, repository: string | undefined): string[] => {
  const p: string[] = [];
  const oldNetworks = Object.keys(old.NetworkSettings.Networks ?? {});
  const networks = [
    ...Object.keys(c.options.NetworkingConfig.EndpointsConfig),
    ...c.extraNetworks.map((n) => n.name),
  ];
  const joined = missingFrom(networks, oldNetworks);
  if (joined.length) p.push(`networks ${joined.join(", ")}`);
  const image = c.options.Image;
  if (image.startsWith("sha256:")) {
    // Created by id only when no repository is known: then only the very same image is allowed.
    if (image !== old.Image) p.push(`image ${image}`);
  } else {
    const ref = parseImageRef(image);
    if (!ref || repository === undefined || ref.repository !== repository) {
      p.push(`image ${image} from outside the allowed repository ${repository ?? "(unknown)"}`);
    }
  }
  const labels = c.options.Labels;
  for (const k of PINNED_LABELS) {
    if ((labels[k] ?? "") !== (old.Config.Labels?.[k] ?? "")) p.push(`label ${k}='${labels[k] ?? ""}'`);
  }
  return p;
};

/** Throws PolicyRefusal `privilege_escalation`, naming everything the new container would gain. */
export const assertNoEscalation = (
  old: InspectedContainer,
  c: Candidate,
  repository: string | undefined,
): void => {
  const problems = [
    ...hostConfigProblems(c.options.HostConfig, old.HostConfig, old),
    ...otherProblems(c, old, repository),
  ];
  if (problems.length > 0) {
    throw new PolicyRefusal(
      "privilege_escalation",
      `refused to create a container with ${problems.join("; ")}: ${old.Name.replace(/^\//, "")}, which it replaces, does not have that`,
    );
  }
};
