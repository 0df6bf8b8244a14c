import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerSide } from "../../runner/docker/docker-side.js";
import { assertNoEscalation } from "../../runner/docker/escalation.js";
import { parseRepository } from "../../runner/docker/image-ref.js";
import { deriveSpec, type Spec, type SpecChange } from "../../runner/docker/spec.js";
import type { InspectedContainer, InspectedImage } from "../../runner/docker/types.js";
import { PolicyRefusal } from "../../runner/errors.js";
import {
  containersOf,
  createFixture,
  deployContext,
  type Fixture,
  ROLLOUT_TIMEOUT_MS,
  requestFor,
  silentLog,
  watchWrites,
} from "./support.js";

let fx: Fixture;
let v1: { context: string; imageId: string };
let old: InspectedContainer;
let image: InspectedImage;
let change: SpecChange;
let repository: string;
let volume: string;

beforeAll(async () => {
  fx = await createFixture();
  v1 = await fx.service("v1", { text: "v1" });
  volume = `hct${fx.id}-data`;
  await fx.docker.createVolume({ Name: volume, Labels: { "hypercode.test": fx.id } });
  // The container to replace already has some privilege: a read-only volume, NET_ADMIN, no MKNOD,
  // no-new-privileges and a read-only root filesystem. Created, not started: inspect is all we need.
  const c = await fx.docker.createContainer({
    name: `hct${fx.id}-old`,
    Image: `${fx.repo}:v1`,
    Labels: { "hypercode.test": fx.id, "hypercode.enable": "true", "hypercode.target": `hct${fx.id}-old` },
    HostConfig: {
      NetworkMode: fx.network,
      Binds: [`${volume}:/data:ro`],
      CapAdd: ["NET_ADMIN"],
      CapDrop: ["MKNOD"],
      SecurityOpt: ["no-new-privileges:true"],
      ReadonlyRootfs: true,
    },
  });
  old = (await c.inspect()) as unknown as InspectedContainer;
  image = (await fx.docker.getImage(v1.imageId).inspect()) as unknown as InspectedImage;
  repository = parseRepository(fx.repo) as string;
  change = {
    image: `${fx.repo}:v1`,
    imageId: v1.imageId,
    env: ["COLOR=red"],
    state: { "hypercode.revision": "r1" },
  };
});

afterAll(async () => {
  await fx?.cleanup();
});

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
    expect(spec.options.Labels["hypercode.target"]).toBe(`hct${fx.id}-old`);
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

describe("through deployer.deploy() on real containers", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it("replicas that differ in privilege: refused before anything changes (the new ones would copy the most privileged)", async () => {
    const name = `hct${fx.id}-mixed`;
    const ids = await fx.target({
      name,
      image: `${fx.repo}:v1`,
      replicas: 2,
      noWait: true,
      labels: { "hypercode.actions": "restart,redeploy" },
      // The newest (the one new containers are derived from) has NET_ADMIN; the older one does not.
      perReplica: [{}, { hostConfig: { CapAdd: ["NET_ADMIN"] } }],
    });
    const watched = watchWrites(fx.docker);
    const { deployer } = createDockerSide({ docker: watched.docker, log: silentLog });

    const r = await deployer.deploy(deployContext(requestFor(name, { action: "restart" }))).catch((e) => e);

    expect(r).toBeInstanceOf(PolicyRefusal);
    expect((r as PolicyRefusal).code).toBe("privilege_escalation");
    expect((r as PolicyRefusal).message).toMatch(/capabilities NET_ADMIN/);
    expect(watched.writes).toEqual([]);
    expect((await containersOf(fx, name)).map((c) => c.Id).sort()).toEqual([...ids].sort());
  });

  it("replicas that share a volume and a capability: replaced with exactly those, nothing more", async () => {
    const name = `hct${fx.id}-priv`;
    const ids = await fx.target({
      name,
      image: `${fx.repo}:v1`,
      replicas: 2,
      labels: { "hypercode.actions": "restart" },
      hostConfig: { Binds: [`${volume}:/data:ro`], CapAdd: ["NET_ADMIN"] },
    });
    const outcome = await createDockerSide({ log: silentLog, settleMs: 0 }).deployer.deploy(
      deployContext(requestFor(name, { action: "restart" })),
    );
    expect(outcome.state, outcome.detail).toBe("succeeded");
    const now = await containersOf(fx, name);
    expect(now.filter((c) => ids.includes(c.Id))).toEqual([]);
    for (const c of now) {
      expect(c.HostConfig.Binds).toEqual([`${volume}:/data:ro`]);
      expect(c.HostConfig.CapAdd).toEqual(["NET_ADMIN"]);
      expect(c.HostConfig.Privileged).toBe(false);
    }
  });
});
