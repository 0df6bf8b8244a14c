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
import { STATE } from "../../../runner/docker/labels.js";
import { LockLostError } from "../../../runner/errors.js";

let fx: Fixture;

beforeAll(async () => {
  fx = await createFixture();
  await fx.service("v1", { text: "v1" });
});

afterAll(async () => {
  await fx?.cleanup();
});

const side = (name: string, docker = fx.docker) =>
  createDockerSide({ docker, log: silentLog, allowlist: [name], healthTimeoutMs: 20_000, settleMs: 500 });

const target = async (suffix: string, replicas = 2, labels: Record<string, string> = {}) => {
  const name = `hct${fx.id}-${suffix}`;
  await fx.target({
    name,
    image: `${fx.repo}:v1`,
    replicas,
    labels: { "hypercode.actions": "restart", ...labels },
  });
  return name;
};

const restart = (name: string) => requestFor(name, { action: "restart" });

/** Id, state and fence of every container of the target, in a stable order. */
const snapshot = async (name: string) =>
  (await containersOf(fx, name))
    .map((c) => ({ id: c.Id, running: c.State.Running, fence: c.Config.Labels[STATE.fence] }))
    .sort((a, b) => a.id.localeCompare(b.id));

describe("fencing: a deploy never touches a target a later lock holder has been at", {
  timeout: ROLLOUT_TIMEOUT_MS,
}, () => {
  it("labels the containers it creates with its fence, replacing unlabelled ones (fence 0)", async () => {
    const name = await target("label");
    const outcome = await side(name).deployer.deploy(deployContext(restart(name), { fence: 5 }));
    expect(outcome.state, outcome.detail).toBe("succeeded");
    const now = await snapshot(name);
    expect(now).toHaveLength(2);
    expect(now.every((c) => c.running && c.fence === "5")).toBe(true);
  });

  it("a stale deploy (fence 3) against containers of fence 5 throws LockLostError and changes nothing", async () => {
    const name = await target("stale");
    expect((await side(name).deployer.deploy(deployContext(restart(name), { fence: 5 }))).state).toBe(
      "succeeded",
    );
    const before = await snapshot(name);
    const watched = watchWrites(fx.docker);

    // Its lock was taken by the later holder: the queue side's check says so once asked.
    const ctx = {
      ...deployContext(restart(name), { fence: 3 }),
      async assertLockHeld() {
        throw new LockLostError("lock taken over");
      },
    };
    const err = await side(name, watched.docker)
      .deployer.deploy(ctx)
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(LockLostError);
    expect((err as Error).message).toMatch(/fence 5.*fence 3/);
    expect(watched.writes).toEqual([]);
    expect(await snapshot(name)).toEqual(before);
    expect(before.every((c) => c.running)).toBe(true);

    // A later deploy (fence 6, as the retry under a new lock would have) proceeds.
    const later = await side(name).deployer.deploy(deployContext(restart(name), { fence: 6 }));
    expect(later.state, later.detail).toBe("succeeded");
    const after = await snapshot(name);
    expect(after).toHaveLength(2);
    expect(after.every((c) => c.running && c.fence === "6")).toBe(true);
    expect(after.filter((c) => before.some((b) => b.id === c.id))).toEqual([]);
  });

  it("stops mid-rollout once a later deploy has created a container of the target", async () => {
    const name = await target("midway", 1);
    const before = await snapshot(name);
    let newer: string | undefined;
    const base = deployContext(restart(name), { fence: 3 });
    const ctx = {
      ...base,
      // The lock still looks held from here (the runner has not noticed yet), but a later holder
      // (fence 4) starts a container of the target just before this deploy's first Docker change.
      async assertLockHeld() {
        if (newer === undefined) {
          [newer] = await fx.target({
            name: "",
            image: `${fx.repo}:v1`,
            replicas: 1,
            labels: { "hypercode.target": name, "hypercode.actions": "restart", [STATE.fence]: "4" },
          });
          // This check passed (the pause came after it); from now on the lock is the later holder's.
          return base.assertLockHeld();
        }
        throw new LockLostError("lock taken over");
      },
    };

    const err = await side(name)
      .deployer.deploy(ctx)
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(LockLostError);
    const now = await snapshot(name);
    // Only the later holder's container was added; the stale deploy created and stopped nothing.
    expect(now).toEqual(
      [...before, { id: newer as string, running: true, fence: "4" }].sort((a, b) =>
        a.id.localeCompare(b.id),
      ),
    );
  });

  it("goes on when the labels are ahead of a lock it still holds (the fence counter went back)", async () => {
    const name = await target("behind");
    expect((await side(name).deployer.deploy(deployContext(restart(name), { fence: 7 }))).state).toBe(
      "succeeded",
    );
    // Redis lost the counter: the next lock is drawn as fence 1, and it is really held.
    const outcome = await side(name).deployer.deploy(deployContext(restart(name), { fence: 1 }));
    expect(outcome.state, outcome.detail).toBe("succeeded");
    const after = await snapshot(name);
    expect(after.every((c) => c.running && c.fence === "1")).toBe(true);
  });
});
