import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containersOf,
  createFixture,
  deployContext,
  type Fixture,
  freshSide,
  ROLLOUT_TIMEOUT_MS,
  requestFor,
} from "../../../fixtures/docker.js";
import { STATE } from "../../../runner/docker/labels.js";
import { foundRevision, HISTORY_LENGTH, revisionFor } from "../../../runner/docker/revisions.js";
import type { DeployContext } from "../../../runner/ports.js";

/**
 * Revision tags after deploys cut short: a revision that leaves a target's history loses its tag
 * even when the deploy that pushed it out was killed before untagging it, and whatever deploy of
 * the target comes next. Tags of another target in the same repository are never touched.
 */

let fx: Fixture;
let v1: { context: string; imageId: string };

beforeAll(async () => {
  fx = await createFixture();
  v1 = await fx.service("v1", { text: "v1" });
});

afterAll(async () => {
  await fx?.cleanup();
});

const ENV = ["COLOR=blue"];

const tag = (rev: string) => fx.docker.getImage(v1.imageId).tag({ repo: fx.repo, tag: rev });

const tagged = async (): Promise<Set<string>> => {
  const images = await fx.docker.listImages({ filters: { reference: [fx.repo] } });
  return new Set(images.flatMap((i) => i.RepoTags ?? []).map((t) => t.slice(t.lastIndexOf(":") + 1)));
};

/**
 * A two-replica target of v1 that has been deployed many times: it runs revision `current` and its
 * history is full (`history`, newest first), every revision tagged, as the runner leaves them.
 * The next deploy pushes the last entry out of the history.
 */
const fullTarget = async (suffix: string, last?: string) => {
  const name = `hct${fx.id}-${suffix}`;
  const hex = randomBytes(3).toString("hex");
  const history = Array.from(
    { length: HISTORY_LENGTH },
    (_, i) => `r20200101${String(i).padStart(6, "0")}-${hex}`,
  );
  if (last) history[HISTORY_LENGTH - 1] = last;
  const current = `r20200102000000-${hex}`;
  for (const rev of [current, ...history]) await tag(rev);
  const record = (rev: string) => ({ rev, image: v1.imageId, env: ENV, at: "2020-01-01T00:00:00.000Z" });
  await fx.target({
    name,
    image: `${fx.repo}:${current}`,
    replicas: 2,
    alias: `${name}-svc`,
    env: ENV,
    labels: {
      "hypercode.actions": "update_config",
      "hypercode.env.allow": "COLOR",
      [STATE.revision]: current,
      [STATE.history]: JSON.stringify(history.map(record)),
    },
  });
  return { name, current, history };
};

/** Every tag of `revs` exists exactly when the target runs that revision or has it in its history. */
const expectTagsFollowHistory = async (name: string, revs: readonly string[]) => {
  const now = await containersOf(fx, name);
  const needed = new Set(
    now.flatMap((c) => [
      c.Config.Labels[STATE.revision],
      ...(JSON.parse(c.Config.Labels[STATE.history] ?? "[]") as Array<{ rev: string }>).map((r) => r.rev),
    ]),
  );
  const tags = await tagged();
  expect(revs.filter((r) => tags.has(r) !== needed.has(r)).map((r) => `${r} tagged: ${tags.has(r)}`)).toEqual(
    [],
  );
};

/** Like a SIGKILL once the rollout is over: the first lock check after every container is this request's throws. */
const killedAfterRollout = (name: string, ctx: DeployContext): DeployContext => ({
  ...ctx,
  async assertLockHeld() {
    const all = await containersOf(fx, name);
    if (all.every((c) => c.Config.Labels[STATE.request] === ctx.request.request_id))
      throw new Error("simulated crash");
  },
});

describe("revision tags after deploys cut short", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it("killed with its new replicas beside the old ones, then other deploys first: what left the history is untagged all the same", async () => {
    const { name, current, history } = await fullTarget("beside");
    const first = requestFor(name, { action: "update_config", env: { COLOR: "green" } });
    // Surge all: checks 1-2 tag, 3-4 create, 5-6 start, 7 the first retire. Both new replicas run
    // with the history that no longer has history[9]; the old ones still run.
    const crashed = await freshSide()
      .deployer.deploy(deployContext(first, { crashAt: 7 }))
      .catch((e: Error) => e);
    expect(String(crashed)).toMatch(/simulated crash/);
    expect((await containersOf(fx, name)).filter((c) => c.State.Running)).toHaveLength(4);

    // Another request takes the target over before the first one's retry, and is killed itself
    // once its rollout is over: nothing it knew of is untagged yet.
    const second = requestFor(name, { action: "update_config", env: { COLOR: "red" } });
    const other = await freshSide().deployer.deploy(killedAfterRollout(name, deployContext(second)));
    expect(other.state, other.detail).toBe("succeeded");

    const retry = await freshSide().deployer.deploy(deployContext(first));

    expect(retry.state, retry.detail).toBe("succeeded");
    const revs = [current, ...history, revisionFor(first), revisionFor(second)];
    await expectTagsFollowHistory(name, revs);
    // Three deploys pushed history[7..9] out; every one of them lost its tag.
    const tags = await tagged();
    expect(history.slice(7).filter((r) => tags.has(r))).toEqual([]);
    expect(history.slice(0, 7).every((r) => tags.has(r))).toBe(true);
  });

  it("killed after the last old replica was removed: the retry finds the target converged and untags all the same", async () => {
    const { name, current, history } = await fullTarget("converged");
    const request = requestFor(name, { action: "update_config", env: { COLOR: "green" } });
    // Check 11: the first remove; both old containers are stopped.
    await freshSide()
      .deployer.deploy(deployContext(request, { crashAt: 11 }))
      .catch(() => undefined);
    // The kill came right after both removes returned: only the new replicas are left.
    for (const c of await containersOf(fx, name)) {
      if (!c.State.Running) await fx.docker.getContainer(c.Id).remove();
    }
    expect((await containersOf(fx, name)).map((c) => c.Config.Labels[STATE.request])).toEqual([
      request.request_id,
      request.request_id,
    ]);
    expect((await tagged()).has(history[HISTORY_LENGTH - 1] as string)).toBe(true);

    const retry = await freshSide().deployer.deploy(deployContext(request));

    expect(retry.state, retry.detail).toBe("succeeded");
    await expectTagsFollowHistory(name, [current, ...history, revisionFor(request)]);
    expect((await tagged()).has(history[HISTORY_LENGTH - 1] as string)).toBe(false);
  });
});

describe("revision tags of requests that never run again", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it("killed right after tagging its revision, then coalesced into an identical request: the carrier's deploy untags it", async () => {
    const { name, current, history } = await fullTarget("carried");
    const first = requestFor(name, { action: "update_config", env: { COLOR: "green" } });
    // Checks 1-2 tag; 3 comes before the first container is created: nothing names the new tag.
    const crashed = await freshSide()
      .deployer.deploy(deployContext(first, { crashAt: 3 }))
      .catch((e: Error) => e);
    expect(String(crashed)).toMatch(/simulated crash/);
    expect((await tagged()).has(revisionFor(first))).toBe(true);

    // Back in the queue, it is coalesced into an identical request, whose deploy carries it out.
    const carrier = requestFor(name, { action: "update_config", env: { COLOR: "green" } });
    const outcome = await freshSide().deployer.deploy(deployContext(carrier, { carries: [first] }));

    expect(outcome.state, outcome.detail).toBe("succeeded");
    await expectTagsFollowHistory(name, [current, ...history, revisionFor(first), revisionFor(carrier)]);
    expect((await tagged()).has(revisionFor(first))).toBe(false);
  });
});

describe("a repository shared by two targets", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it("the other target's tags stay: one it is about to deploy, and a revision both name (same image and env)", async () => {
    // The other target: one replica of v1 with the same env, deployed once, so that its history
    // holds the revision the runner found it at (named after image and env: the same for both).
    const neighbour = `hct${fx.id}-neighbour`;
    await fx.target({
      name: neighbour,
      image: `${fx.repo}:v1`,
      replicas: 1,
      env: ENV,
      labels: { "hypercode.actions": "update_config", "hypercode.env.allow": "COLOR" },
    });
    const shared = foundRevision(v1.imageId, ENV);
    const deployed = requestFor(neighbour, { action: "update_config", env: { COLOR: "n1" } });
    expect((await freshSide().deployer.deploy(deployContext(deployed))).state).toBe("succeeded");
    // Its next deploy, running under its own lock, has tagged its revision and created nothing yet.
    const inFlight = revisionFor(requestFor(neighbour, { action: "update_config", env: { COLOR: "n2" } }));
    await tag(inFlight);
    const before = await tagged();
    expect([shared, revisionFor(deployed), inFlight].every((r) => before.has(r))).toBe(true);

    // This target's deploy pushes the shared revision out of its own history.
    const { name, current, history } = await fullTarget("sharing", shared);
    const request = requestFor(name, { action: "update_config", env: { COLOR: "green" } });
    const outcome = await freshSide().deployer.deploy(deployContext(request));

    expect(outcome.state, outcome.detail).toBe("succeeded");
    const after = await tagged();
    expect([shared, revisionFor(deployed), inFlight].filter((r) => !after.has(r))).toEqual([]);
    expect([current, ...history.slice(0, -1), revisionFor(request)].filter((r) => !after.has(r))).toEqual([]);
  });
});
