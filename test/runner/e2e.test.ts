import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containersOf,
  createFixture,
  execIn,
  type Fixture,
  revisionOf,
  serving,
} from "../../fixtures/docker.js";
import { parseRunnerConfig } from "../../runner/config.js";
import { createDockerSide } from "../../runner/docker/docker-side.js";
import { createRunner, type Runner } from "../../runner/runner.js";
import { keys } from "../../shared/keys.js";
import {
  ACTIONS,
  type ImprovementPayload,
  isTerminal,
  type RequestState,
  requestIdForEntry,
} from "../../shared/protocol/index.js";
import { addAgent } from "../support/fixtures.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

/**
 * Issue 3's contract end to end: a request written to the stream, in the agents' own shape, is
 * consumed by the real runner (queue side + Docker side) and the target's containers on the real
 * engine change as asked; the status record ends in the right state.
 */
describe("runner end to end: stream → Docker", { timeout: 180_000 }, () => {
  let fx: Fixture;
  let redis: Redis;
  let runner: Runner;
  let runnerRedis: Redis;
  const prefix = freshPrefix();
  const k = keys(prefix);
  let name: string;
  let alias: string;
  /** A target labelled hypercode.redeploy=rebuild: the upstream agents' meaning of a bare redeploy. */
  let source: string;
  let v2: { imageId: string };

  beforeAll(async () => {
    fx = await createFixture();
    await fx.service("v1", { text: "v1" });
    v2 = await fx.service("v2", { text: "v2" });
    await fx.service("broken", { text: "broken", unhealthy: true });
    const built = await fx.service("src", { text: "built" });
    name = `hct${fx.id}-e2e`;
    alias = `${name}-svc`;
    await fx.target({
      name,
      image: `${fx.repo}:v1`,
      replicas: 2,
      alias,
      labels: {
        "hypercode.actions": "restart,redeploy,rebuild,update_config,rollback,scale",
        "hypercode.replicas.max": "3",
        "hypercode.build.args": "GREETING",
        "hypercode.env.allow": "COLOR",
        "hypercode.build.context": built.context,
      },
    });
    source = `hct${fx.id}-e2e-src`;
    await fx.target({
      name: source,
      image: `${fx.repo}:v1`,
      replicas: 1,
      labels: {
        "hypercode.actions": "restart,redeploy",
        "hypercode.redeploy": "rebuild",
        "hypercode.build.context": built.context,
      },
    });
    redis = testClient();
    // Entries XADDed here name this agent; the runner checks them as the intake would.
    await addAgent(redis, prefix, { id: "coder-agent", targets: ["*"], actions: [...ACTIONS], rate: 10_000 });
    runnerRedis = testClient();
    const log = pino({ level: process.env.TEST_RUNNER_LOG ?? "silent" });
    const config = parseRunnerConfig({
      REDIS_URL: redisUrl(),
      KEY_PREFIX: prefix,
      RUNNER_ID: "e2e-runner",
      HYPERCODE_TARGETS: `${name},${source}`,
      RUNNER_PORT: "0",
      RUNNER_HOST: "127.0.0.1",
      PUBLISH_INTERVAL: "1s",
      RETRY_BASE: "200ms",
      LOG_LEVEL: "silent",
    });
    const side = createDockerSide({ log, allowlist: config.targets, healthTimeoutMs: 15_000, settleMs: 500 });
    runner = createRunner({ redis: runnerRedis, ...side, config, log });
    await runner.start();
  });

  afterAll(async () => {
    await runner?.stop();
    runnerRedis?.disconnect();
    if (redis) {
      await deletePrefix(redis, prefix);
      redis.disconnect();
    }
    await fx?.cleanup();
  });

  /** XADDs like an agent, then waits for the request to end; returns its final status record. */
  const send = async (payload: ImprovementPayload, requestId?: string, target = name) => {
    const body = {
      agent_id: "coder-agent",
      target_agent: target,
      improvement_type: "performance",
      description: "end to end",
      payload,
      ...(requestId ? { request_id: requestId, created_at: new Date().toISOString() } : {}),
    };
    const entry = (await redis.xadd(k.requestStream, "*", "payload", JSON.stringify(body))) as string;
    const id = requestId ?? requestIdForEntry(entry);
    const deadline = Date.now() + 150_000;
    for (;;) {
      const status = await redis.hgetall(k.request(id));
      if (status.state && isTerminal(status.state as RequestState)) return status;
      if (Date.now() > deadline) throw new Error(`request ${id} still ${status.state}`);
      await sleep(100);
    }
  };
  const running = async () => serving(await containersOf(fx, name));

  it("publishes the target so the intake knows it", async () => {
    const deadline = Date.now() + 10_000;
    while (!(await redis.hget(k.targets, name))) {
      if (Date.now() > deadline) throw new Error("target not published");
      await sleep(100);
    }
    const published = JSON.parse((await redis.hget(k.targets, name)) as string);
    expect(published).toMatchObject({ target: name, replicas: 2, runner_id: "e2e-runner" });
    expect(published.actions).toEqual(expect.arrayContaining(["rebuild", "redeploy", "scale"]));
  });

  it("redeploys from an entry written straight to Redis in the seed's shape", async () => {
    const before = (await running()).map((c) => c.Id);
    const status = await send({ action: "redeploy", image: `${fx.repo}:v2` });
    expect(status.state).toBe("succeeded");
    const after = await running();
    expect(after).toHaveLength(2);
    expect(after.map((c) => c.Id).filter((id) => before.includes(id))).toEqual([]);
    // Each revision's image is tagged with the revision (LABELS.md); it is v2's image.
    expect(after.map((c) => c.Image)).toEqual([v2.imageId, v2.imageId]);
    expect(status.revision).toBe(revisionOf(after[0] as never));
    expect(status).toMatchObject({ carried_out_as: "redeploy", image_id: v2.imageId });
  });

  it("rebuilds from the build-context label with an allowed build arg", async () => {
    const status = await send({ action: "rebuild", build_args: { GREETING: "bonjour" } }, "e2e-rebuild");
    expect(status.state).toBe("succeeded");
    const after = await running();
    expect(after).toHaveLength(2);
    for (const c of after)
      expect((await execIn(fx, c.Id, ["/bin/busybox", "cat", "/www/greeting.txt"])).trim()).toBe("bonjour");
    // The timeline went through building and deploying.
    const timeline = (await redis.xrange(k.requestEvents("e2e-rebuild"), "-", "+")).map(([, f]) => f[1]);
    const states = timeline.filter((s, i) => s !== timeline[i - 1]);
    expect(states).toEqual(["queued", "running", "building", "deploying", "succeeded"]);
    expect(status).toMatchObject({ carried_out_as: "rebuild", image_id: after[0]?.Image });
  });

  it("carries a bare redeploy out as a rebuild on a target labelled hypercode.redeploy=rebuild", async () => {
    const status = await send({ action: "redeploy" }, "e2e-redeploy-rebuild", source);
    expect(status.state, status.detail).toBe("succeeded");
    const [now] = serving(await containersOf(fx, source));
    const built = await fx.docker.getImage(now?.Image as string).inspect();
    expect(built.Config.Labels["hypercode.built.request"]).toBe("e2e-redeploy-rebuild");
    expect(status).toMatchObject({ action: "redeploy", carried_out_as: "rebuild", image_id: built.Id });
    expect(status.detail).toMatch(
      /^redeploy carried out as a rebuild \(hypercode\.redeploy=rebuild\): rebuild of /,
    );
  });

  it("updates allowed env keys", async () => {
    const status = await send({ action: "update_config", env: { COLOR: "blue" } }, "e2e-config");
    expect(status.state).toBe("succeeded");
    for (const c of await running()) expect(c.Config.Env).toContain("COLOR=blue");
  });

  it("rolls back to the previous revision (image and env)", async () => {
    const status = await send({ action: "rollback" }, "e2e-rollback");
    expect(status.state).toBe("succeeded");
    const after = await running();
    expect(after).toHaveLength(2);
    for (const c of after) expect(c.Config.Env).not.toContain("COLOR=blue");
  });

  it("scales within bounds, and refuses beyond them without touching Docker", async () => {
    expect((await send({ action: "scale", replicas: 3 }, "e2e-scale")).state).toBe("succeeded");
    expect(await running()).toHaveLength(3);
    const ids = (await running()).map((c) => c.Id).sort();
    const refused = await send({ action: "scale", replicas: 4 }, "e2e-scale-over");
    expect(refused.state).toBe("rejected");
    expect(refused.detail).toMatch(/3/);
    expect((await running()).map((c) => c.Id).sort()).toEqual(ids);
    expect((await send({ action: "scale", replicas: 2 }, "e2e-scale-down")).state).toBe("succeeded");
    expect(await running()).toHaveLength(2);
  });

  it("restarts one replica at a time: new containers, same image", async () => {
    const before = await running();
    const status = await send({ action: "restart" }, "e2e-restart");
    expect(status.state).toBe("succeeded");
    const after = await running();
    expect(after).toHaveLength(2);
    expect(after.map((c) => c.Id).filter((id) => before.some((b) => b.Id === id))).toEqual([]);
    expect(after.map((c) => c.Image).sort()).toEqual(before.map((c) => c.Image).sort());
  });

  it("refuses a disallowed build arg, env key or image repository: rejected, containers unchanged", async () => {
    const ids = (await running()).map((c) => c.Id).sort();
    for (const [id, payload] of [
      ["e2e-bad-arg", { action: "rebuild", build_args: { EVIL: "1" } }],
      ["e2e-bad-env", { action: "update_config", env: { PATH: "/evil" } }],
      ["e2e-bad-repo", { action: "redeploy", image: "evil.io/other/app:v1" }],
    ] as const) {
      const status = await send(payload as ImprovementPayload, id);
      expect(status.state, id).toBe("rejected");
      expect(status.refusal_code, id).toBeTruthy();
    }
    expect((await running()).map((c) => c.Id).sort()).toEqual(ids);
  });

  it("leaves the old replicas serving when the new image never becomes healthy", async () => {
    const ids = (await running()).map((c) => c.Id).sort();
    const status = await send({ action: "redeploy", image: `${fx.repo}:broken` }, "e2e-broken");
    expect(["failed", "rolled_back"]).toContain(status.state);
    expect(status.detail).toBeTruthy();
    expect(status.health_log ?? status.detail).toBeTruthy();
    expect((await running()).map((c) => c.Id).sort()).toEqual(ids);
    const broken = await fx.docker.getImage(`${fx.repo}:broken`).inspect();
    expect((await running()).map((c) => c.Image)).not.toContain(broken.Id);
  });
});
