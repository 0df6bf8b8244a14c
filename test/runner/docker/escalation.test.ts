import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containersOf,
  createFixture,
  deployContext,
  type Fixture,
  ROLLOUT_TIMEOUT_MS,
  requestFor,
  silentLog,
  watchWrites,
} from "../../../fixtures/docker.js";
import { createDockerSide } from "../../../runner/docker/docker-side.js";
import { PolicyRefusal } from "../../../runner/errors.js";

let fx: Fixture;
let volume: string;

beforeAll(async () => {
  fx = await createFixture();
  await fx.service("v1", { text: "v1" });
  volume = `hct${fx.id}-data`;
  await fx.docker.createVolume({ Name: volume, Labels: { "hypercode.test": fx.id } });
});

afterAll(async () => {
  await fx?.cleanup();
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
