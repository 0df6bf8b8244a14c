import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containersOf,
  createFixture,
  deployContext,
  type Fixture,
  fetchVia,
  freshSide,
  ROLLOUT_TIMEOUT_MS,
  requestFor,
} from "../../../fixtures/docker.js";
import { BUILT, STATE } from "../../../runner/docker/labels.js";

let fx: Fixture;
let v1: { context: string; imageId: string };

beforeAll(async () => {
  fx = await createFixture();
  v1 = await fx.service("v1", { text: "v1" });
});

afterAll(async () => {
  await fx?.cleanup();
});

const newTarget = async (suffix: string, surge = "all") => {
  const name = `hct${fx.id}-${suffix}`;
  const alias = `${name}-svc`;
  await fx.target({
    name,
    image: `${fx.repo}:v1`,
    replicas: 2,
    alias,
    env: ["COLOR=blue"],
    labels: {
      "hypercode.actions": "update_config,rebuild",
      "hypercode.env.allow": "COLOR",
      "hypercode.build.context": v1.context,
      "hypercode.build.args": "GREETING",
      "hypercode.rollout.surge": surge,
    },
  });
  return { name, alias };
};

/** The target is exactly `replicas` running containers of this request, and nothing else is left. */
const expectConverged = async (name: string, requestId: string, replicas = 2) => {
  const all = await containersOf(fx, name);
  expect(all.map((c) => `${c.State.Status} ${c.Config.Labels[STATE.request]}`)).toEqual(
    Array(replicas).fill(`running ${requestId}`),
  );
  expect(new Set(all.map((c) => c.Config.Labels[STATE.spec])).size).toBe(1);
  expect(all.every((c) => c.State.Health?.Status === "healthy")).toBe(true);
  return all;
};

/*
 * Lock checks of a two-replica update_config one replica at a time (surge 1), in order: 1-2
 * revision tags; replica 1: 3 create, 4 start, 5 retire, 6 stop, 7 remove; replica 2: 8 create,
 * 9 start, 10 retire, 11 stop, 12 remove. With both replicas at once (the default surge), each
 * step is taken for both replicas together: 3-4 create, 5-6 start, 7-8 retire, 9-10 stop, 11-12
 * remove. Throwing from the n-th check (and every later one) stops the deploy there, as a
 * SIGKILL would: nothing after it runs.
 */
const crashes: Array<[string, string, number, (states: string[]) => void]> = [
  [
    "the new container created, never started",
    "1",
    4,
    (s) => expect(s.sort()).toEqual(["created", "running", "running"]),
  ],
  [
    "the new container started, old one not stopped",
    "1",
    5,
    (s) => expect(s).toEqual(["running", "running", "running"]),
  ],
  [
    "the old container stopped, not removed",
    "1",
    7,
    (s) => expect(s.sort()).toEqual(["exited", "running", "running"]),
  ],
  [
    "the second replica created, never started",
    "1",
    9,
    (s) => expect(s.sort()).toEqual(["created", "running", "running"]),
  ],
  [
    "the last old container stopped, not removed",
    "1",
    12,
    (s) => expect(s.sort()).toEqual(["exited", "running", "running"]),
  ],
  [
    "both new containers created, never started",
    "all",
    5,
    (s) => expect(s.sort()).toEqual(["created", "created", "running", "running"]),
  ],
  [
    "both new containers healthy, no old one stopped",
    "all",
    7,
    (s) => expect(s).toEqual(["running", "running", "running", "running"]),
  ],
  [
    "both old containers stopped, not removed",
    "all",
    11,
    (s) => expect(s.sort()).toEqual(["exited", "exited", "running", "running"]),
  ],
];

describe("a retry after a crash mid-rollout converges instead of piling up containers", {
  timeout: ROLLOUT_TIMEOUT_MS,
}, () => {
  it.each(crashes)("crash with %s (surge %s)", async (_, surge, crashAt, leftBehind) => {
    const { name, alias } = await newTarget(`crash${surge}-${crashAt}`, surge);
    const request = requestFor(name, { action: "update_config", env: { COLOR: "green" } });

    const crashed = await freshSide()
      .deployer.deploy(deployContext(request, { crashAt }))
      .catch((e: Error) => e);
    expect(String(crashed)).toMatch(/simulated crash/);
    leftBehind((await containersOf(fx, name)).map((c) => c.State.Status));

    const outcome = await freshSide().deployer.deploy(deployContext(request));

    expect(outcome.state, outcome.detail).toBe("succeeded");
    const now = await expectConverged(name, request.request_id);
    expect(now.every((c) => c.Config.Env.includes("COLOR=green"))).toBe(true);
    expect(await fetchVia(fx, `${fx.repo}:v1`, alias, "/cgi-bin/env")).toBe("COLOR=green");
  });

  it("a batch whose second replica cannot start removes the first one again; the retry converges", async () => {
    const { name } = await newTarget("batchfail");
    const request = requestFor(name, { action: "update_config", env: { COLOR: "green" } });
    // Checks 3-4 come before both creates, 5-6 before both starts: the 6th fails once, as a
    // Redis blip would, so one new replica is running and the other never starts.
    const ctx = deployContext(request);
    let checks = 0;
    ctx.assertLockHeld = async () => {
      if (++checks === 6) throw new Error("lock check failed once");
    };

    await expect(freshSide().deployer.deploy(ctx)).rejects.toThrow(/lock check failed once/);
    const left = await containersOf(fx, name);
    expect(left.map((c) => c.State.Status).sort()).toEqual(["created", "running", "running"]);
    expect(
      left.filter((c) => c.State.Running).every((c) => c.Config.Labels[STATE.request] === undefined),
    ).toBe(true);

    const outcome = await freshSide().deployer.deploy(deployContext(request));
    expect(outcome.state, outcome.detail).toBe("succeeded");
    await expectConverged(name, request.request_id);
  });

  it("another request after a rollout cut short keeps the target's size (the extra replica is not counted)", async () => {
    const { name } = await newTarget("othersize", "1");
    const first = requestFor(name, { action: "update_config", env: { COLOR: "green" } });
    // Killed with its new replica started beside the two old ones (3 running).
    await freshSide()
      .deployer.deploy(deployContext(first, { crashAt: 5 }))
      .catch(() => undefined);
    expect((await containersOf(fx, name)).filter((c) => c.State.Running)).toHaveLength(3);

    // A different request runs before the first one's retry (it waited for the dead runner's lock).
    const second = requestFor(name, { action: "update_config", env: { COLOR: "red" } });
    const outcome = await freshSide().deployer.deploy(deployContext(second));
    expect(outcome.state, outcome.detail).toBe("succeeded");
    const now = await expectConverged(name, second.request_id);
    expect(now.every((c) => c.Config.Env.includes("COLOR=red"))).toBe(true);
  });

  it("a rebuild that crashed after its build reuses the image instead of building a second one", async () => {
    const { name, alias } = await newTarget("crashbuild");
    const request = requestFor(name, { action: "rebuild", build_args: { GREETING: "salut" } });
    // 1: before the build; 2: the first revision tag, after the build.
    await freshSide()
      .deployer.deploy(deployContext(request, { crashAt: 2 }))
      .catch(() => undefined);
    const built = () =>
      fx.docker.listImages({ filters: { label: [`${BUILT.request}=${request.request_id}`] } });
    expect(await built()).toHaveLength(1);

    const ctx = deployContext(request);
    const outcome = await freshSide().deployer.deploy(ctx);

    expect(outcome.state, outcome.detail).toBe("succeeded");
    expect(ctx.recorded.progress.map((p) => p.state)).not.toContain("building");
    expect(await built()).toHaveLength(1);
    await expectConverged(name, request.request_id);
    expect(await fetchVia(fx, `${fx.repo}:v1`, alias, "/greeting.txt")).toBe("salut");
  });

  it("a retry of a deploy that had in fact finished changes nothing", async () => {
    const { name } = await newTarget("again");
    const request = requestFor(name, { action: "update_config", env: { COLOR: "green" } });
    expect((await freshSide().deployer.deploy(deployContext(request))).state).toBe("succeeded");
    const before = (await containersOf(fx, name)).map((c) => c.Id).sort();

    const outcome = await freshSide().deployer.deploy(deployContext(request));

    expect(outcome.state, outcome.detail).toBe("succeeded");
    expect((await containersOf(fx, name)).map((c) => c.Id).sort()).toEqual(before);
  });
});
