import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containersOf,
  createFixture,
  deployContext,
  execIn,
  type Fixture,
  ROLLOUT_TIMEOUT_MS,
  requestFor,
  silentLog,
} from "../../../fixtures/docker.js";
import { createDockerSide } from "../../../runner/docker/docker-side.js";

let fx: Fixture;

beforeAll(async () => {
  fx = await createFixture();
  await fx.service("bare", { text: "bare", noHealthcheck: true });
  await fx.service("crash", { crashWith: "boom-no-config", noHealthcheck: true });
});

afterAll(async () => {
  await fx?.cleanup();
});

const side = (settleMs = 500) => createDockerSide({ log: silentLog, healthTimeoutMs: 8_000, settleMs });

/** A target of an image without HEALTHCHECK. */
const bareTarget = async (suffix: string, labels: Record<string, string> = {}, replicas = 1) => {
  const name = `hct${fx.id}-${suffix}`;
  const ids = await fx.target({
    name,
    image: `${fx.repo}:bare`,
    replicas,
    labels: { "hypercode.actions": "restart,redeploy", ...labels },
  });
  return { name, ids };
};

describe("health of a new replica without a HEALTHCHECK", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it("the probe label is asked: an answering path passes", async () => {
    const { name, ids } = await bareTarget("probe-ok", {
      "hypercode.health.http": "http://:8080/index.html",
    });
    const outcome = await side().deployer.deploy(deployContext(requestFor(name, { action: "restart" })));
    expect(outcome.state, outcome.detail).toBe("succeeded");
    expect((await containersOf(fx, name)).map((c) => c.Id)).not.toContain(ids[0]);
  });

  it("the probe label is asked: a path that answers 404 fails, with the probe's errors as the health log", async () => {
    const { name, ids } = await bareTarget("probe-404", { "hypercode.health.http": "http://:8080/missing" });
    const outcome = await side().deployer.deploy(deployContext(requestFor(name, { action: "restart" })));
    expect(outcome.state).toBe("failed");
    expect(outcome.detail).toMatch(/not healthy after 8000 ms/);
    expect(outcome.healthLog).toMatch(/GET http:\/\/[\d.]+:8080\/missing: HTTP 404/);
    expect((await containersOf(fx, name)).map((c) => c.Id)).toEqual(ids);
  });

  it("without a probe label, running without restarts for the settle time passes", async () => {
    const { name } = await bareTarget("settle");
    const started = Date.now();
    const outcome = await side(1500).deployer.deploy(deployContext(requestFor(name, { action: "restart" })));
    expect(outcome.state, outcome.detail).toBe("succeeded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  });

  it("a new container that exits fails at once, with its output as the health log", async () => {
    const { name, ids } = await bareTarget("crash", { "hypercode.image.repository": fx.repo });
    const started = Date.now();
    const outcome = await side(5000).deployer.deploy(
      deployContext(requestFor(name, { action: "redeploy", image: `${fx.repo}:crash` })),
    );
    expect(outcome.state).toBe("failed");
    expect(outcome.detail).toMatch(/exited with code 3/);
    expect(outcome.healthLog).toContain("boom-no-config");
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await containersOf(fx, name)).map((c) => c.Id)).toEqual(ids);
  });
});

describe("retiring an old replica", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it("runs its pre-stop hook inside it before stopping it", async () => {
    const volume = `hct${fx.id}-drain`;
    await fx.docker.createVolume({ Name: volume, Labels: { "hypercode.test": fx.id } });
    const name = `hct${fx.id}-prestop`;
    const ids = await fx.target({
      name,
      image: `${fx.repo}:bare`,
      replicas: 2,
      labels: {
        "hypercode.actions": "restart",
        "hypercode.prestop": '["/bin/busybox","sh","-c","echo drained > /shared/$HOSTNAME"]',
      },
      hostConfig: { Binds: [`${volume}:/shared`] },
    });

    const outcome = await side().deployer.deploy(deployContext(requestFor(name, { action: "restart" })));

    expect(outcome.state, outcome.detail).toBe("succeeded");
    // Each old replica wrote its own hostname (its short id) into the shared volume.
    const replica = (await containersOf(fx, name))[0]?.Id as string;
    const out = await execIn(fx, replica, ["/bin/busybox", "ls", "/shared"]);
    for (const id of ids) expect(out).toContain(id.slice(0, 12));
  });
});

describe("the health wait follows Docker's events", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  beforeAll(async () => {
    await fx.service("checked", { text: "checked" });
  });

  it("a health_status event ends the wait: a poll far longer than the health timeout never comes into it", async () => {
    const name = `hct${fx.id}-events`;
    const ids = await fx.target({
      name,
      image: `${fx.repo}:checked`,
      replicas: 1,
      labels: { "hypercode.actions": "restart" },
    });
    // One look at the start (the HEALTHCHECK has not run yet), then only an event can end the
    // sleep before the 20 s deadline.
    const { deployer } = createDockerSide({ log: silentLog, healthTimeoutMs: 20_000, healthPollMs: 600_000 });
    const started = Date.now();
    const outcome = await deployer.deploy(deployContext(requestFor(name, { action: "restart" })));
    expect(outcome.state, outcome.detail).toBe("succeeded");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await containersOf(fx, name)).map((c) => c.Id)).not.toContain(ids[0]);
  });
});
