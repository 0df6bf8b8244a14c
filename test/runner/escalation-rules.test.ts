import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assertNoEscalation } from "../../runner/docker/escalation.js";
import { parseRepository } from "../../runner/docker/image-ref.js";
import { deriveSpec, type Spec, type SpecChange } from "../../runner/docker/spec.js";
import type { InspectedContainer, InspectedImage } from "../../runner/docker/types.js";
import { PolicyRefusal } from "../../runner/errors.js";

/**
 * The privilege-escalation rules on `inspect` JSON captured from a real engine (Docker 20.10): a
 * container that already has some privilege (a read-only volume, NET_ADMIN, no MKNOD,
 * no-new-privileges, a read-only root filesystem) and its image. No engine needed; the same rules
 * on live containers are in docker/escalation.test.ts.
 */
const captured = JSON.parse(
  readFileSync(join(import.meta.dirname, "fixtures", "escalation-inspect.json"), "utf8"),
) as {
  repo: string;
  imageId: string;
  volume: string;
  network: string;
  target: string;
  container: InspectedContainer;
  image: InspectedImage;
};
const { volume, container: old, image } = captured;
const fx = { repo: captured.repo, network: captured.network };
const repository = parseRepository(captured.repo) as string;
const change: SpecChange = {
  image: `${captured.repo}:v1`,
  imageId: captured.imageId,
  env: ["COLOR=red"],
  state: { "hypercode.revision": "r1" },
};

const legit = (): Spec => deriveSpec(old, image, change, { repository });

const refusal = (fn: () => unknown): PolicyRefusal => {
  try {
    fn();
  } catch (e) {
    if (e instanceof PolicyRefusal) return e;
    throw e;
  }
  throw new Error("not refused");
};

describe("the spec builder copies privilege, never adds it", () => {
  it("derives the new container from the old one: same mounts, capabilities, security options, networks", () => {
    const spec = legit();
    const h = spec.options.HostConfig;
    expect(h.Binds).toEqual([`${volume}:/data:ro`]);
    expect(h.CapAdd).toEqual(["NET_ADMIN"]);
    expect(h.CapDrop).toEqual(["MKNOD"]);
    expect(h.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(Object.keys(spec.options.NetworkingConfig.EndpointsConfig)).toEqual([fx.network]);
    expect(spec.options.Env).toEqual(["COLOR=red"]);
    expect(spec.options.Labels["hypercode.target"]).toBe(captured.target);
  });

  it.each([
    ["a HostConfig", { HostConfig: { Privileged: true } }],
    ["binds", { binds: ["/:/host"] }],
    ["a policy label passed as state", { state: { "hypercode.actions": "restart,rebuild" } }],
  ])("refuses a change crafted with %s (the change schema is strict)", (_, extra) => {
    const r = refusal(() => deriveSpec(old, image, { ...change, ...extra } as SpecChange, { repository }));
    expect(r.code).toBe("invalid_change");
  });
});

type Mutation = (s: Spec) => void;
const host = (s: Spec) => s.options.HostConfig;

const attempts: Array<[string, Mutation, RegExp]> = [
  ["a new bind of the host root", (s) => host(s).Binds?.push("/:/host"), /bind mount \/ at \/host/],
  [
    "the read-only volume made writable",
    (s) => (host(s).Binds = [`${volume}:/data`]),
    /volume mount .* \(read-write\)/,
  ],
  [
    "the Docker socket through Mounts",
    (s) =>
      (host(s).Mounts = [{ Type: "bind", Source: "/var/run/docker.sock", Target: "/var/run/docker.sock" }]),
    /bind mount \/var\/run\/docker.sock/,
  ],
  ["a new capability", (s) => host(s).CapAdd?.push("SYS_ADMIN"), /capabilities SYS_ADMIN/],
  ["a dropped capability given back", (s) => (host(s).CapDrop = []), /capabilities it drops \(MKNOD\)/],
  ["privileged mode", (s) => (host(s).Privileged = true), /privileged mode/],
  ["the host network", (s) => (host(s).NetworkMode = "host"), /NetworkMode 'host'/],
  ["the host pid namespace", (s) => (host(s).PidMode = "host"), /PidMode 'host'/],
  ["the host ipc namespace", (s) => (host(s).IpcMode = "host"), /IpcMode 'host'/],
  ["the host uts namespace", (s) => (host(s).UTSMode = "host"), /UTSMode 'host'/],
  ["the host user namespace", (s) => (host(s).UsernsMode = "host"), /UsernsMode 'host'/],
  [
    "a device",
    (s) =>
      (host(s).Devices = [
        { PathOnHost: "/dev/kmsg", PathInContainer: "/dev/kmsg", CgroupPermissions: "rwm" },
      ]),
    /devices \/dev\/kmsg/,
  ],
  ["GPUs", (s) => (host(s).DeviceRequests = [{ Count: -1, Capabilities: [["gpu"]] }]), /device requests/],
  ["seccomp off", (s) => host(s).SecurityOpt?.push("seccomp=unconfined"), /security options/],
  ["no-new-privileges removed", (s) => (host(s).SecurityOpt = []), /security options/],
  ["masked paths unmasked", (s) => (host(s).MaskedPaths = []), /unmasked paths .*\/proc\/kcore/],
  ["a writable root filesystem", (s) => (host(s).ReadonlyRootfs = false), /writable root filesystem/],
  ["a sysctl", (s) => (host(s).Sysctls = { "net.ipv4.ip_forward": "1" }), /sysctls net.ipv4.ip_forward=1/],
  ["a group", (s) => (host(s).GroupAdd = ["docker"]), /groups docker/],
  [
    "a published host port",
    (s) => (host(s).PortBindings = { "8080/tcp": [{ HostPort: "80" }] }),
    /published ports/,
  ],
  ["volumes of another container", (s) => (host(s).VolumesFrom = ["other"]), /volumes from other/],
  ["any other HostConfig field", (s) => (host(s).CgroupParent = "/evil"), /HostConfig.CgroupParent/],
  [
    "an image from another registry",
    (s) => (s.options.Image = `evil.io/${fx.repo}:v1`),
    /outside the allowed repository/,
  ],
  [
    "a widened policy label",
    (s) => (s.options.Labels["hypercode.actions"] = "restart,rebuild"),
    /label hypercode.actions/,
  ],
  [
    "another network",
    (s) =>
      ((s as { extraNetworks: Spec["extraNetworks"] }).extraNetworks = [{ name: "bridge", settings: {} }]),
    /networks bridge/,
  ],
];

describe("the privilege check refuses create options that add privilege", () => {
  it.each(attempts)("%s", (_, mutate, message) => {
    const spec = structuredClone(legit());
    mutate(spec);
    const r = refusal(() => assertNoEscalation(old, spec, repository));
    expect(r.code).toBe("privilege_escalation");
    expect(r.message).toMatch(message);
  });

  it("lets through a spec that keeps exactly the old privilege", () => {
    expect(() => assertNoEscalation(old, legit(), repository)).not.toThrow();
  });
});
