import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containersOf, createFixture, type Fixture } from "../../fixtures/docker.js";
import { BUILT, STATE } from "../../runner/docker/labels.js";
import { keys } from "../../shared/keys.js";
import { isTerminal, type RequestState } from "../../shared/protocol/index.js";
import { bundleEntry, type ChildRunner, size, spawnRunner } from "../support/campaign.js";
import { expectConverged, watchHealthy } from "../support/campaign-docker.js";
import { addAgent } from "../support/fixtures.js";
import { jsonPost } from "../support/intake-harness.js";
import type { RunningIntake } from "../support/intake-runtime.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

/**
 * The runner as it ships (runner/main.ts: queue side and real Docker side) killed with SIGKILL at
 * random moments while it deploys a two-replica target, again and again, a new runner started
 * each time. The requests rotate through update_config, rebuild and redeploy. Every request that
 * got a 202 ends; the target always has a healthy replica; at the end it runs the last request's
 * revision (and image, a rebuild's own) and nothing is orphaned, built images included.
 */

const KILLS = size(3, 20);

describe("runner killed mid-deploy, again and again", { timeout: 900_000 }, () => {
  let fx: Fixture;
  let redis: Redis;
  let intake: RunningIntake;
  let bundle: { file: string; remove: () => void };
  let key: string;
  let name: string;
  let images: Record<"v1" | "v2", string>;
  let context: string;
  const children = new Set<ChildRunner>();
  const prefix = freshPrefix();
  const k = keys(prefix);

  const startRunner = async () => {
    const child = await spawnRunner(bundle.file, {
      REDIS_URL: redisUrl(),
      KEY_PREFIX: prefix,
      // The same consumer name each time: a restarted runner takes its own pending entries first.
      RUNNER_ID: "crash-runner",
      HYPERCODE_TARGETS: name,
      CLAIM_IDLE: "2s",
      LOCK_TTL: "2s",
      RETRY_BASE: "100ms",
      RETRY_MAX: "1s",
      MAX_DELIVERIES: "50",
      // Published targets expire after 3 × this; a runner killed and restarted in a loop must not
      // make the intake refuse the next request as "no runner serves it".
      PUBLISH_INTERVAL: "10s",
      HEALTH_TIMEOUT: "30s",
      RUNNER_PORT: "0",
      RUNNER_HOST: "127.0.0.1",
      LOG_LEVEL: "info",
    });
    children.add(child);
    return child;
  };

  beforeAll(async () => {
    fx = await createFixture();
    const v1 = await fx.service("v1", { text: "v1" });
    context = v1.context;
    images = { v1: v1.imageId, v2: (await fx.service("v2", { text: "v2" })).imageId };
    name = `hct${fx.id}-crash`;
    await fx.target({
      name,
      image: `${fx.repo}:v1`,
      replicas: 2,
      alias: `${name}-svc`,
      env: ["COLOR=start"],
      labels: {
        "hypercode.actions": "update_config,redeploy,rebuild",
        "hypercode.env.allow": "COLOR",
        "hypercode.build.context": context,
        "hypercode.build.args": "GREETING",
      },
    });
    redis = testClient();
    key = await addAgent(redis, prefix, {
      id: "crash-agent",
      targets: [name],
      actions: ["update_config", "redeploy", "rebuild"],
      rate: 100_000,
    });
    intake = await startNodeTestIntake({
      redisUrl: redisUrl(),
      prefix,
      vars: { TARGET_BUDGET: "100000/hour" },
    });
    bundle = await bundleEntry("runner/main.ts");
  });

  afterAll(async () => {
    for (const c of children) await c.kill();
    await intake?.stop();
    bundle?.remove();
    if (redis) {
      await deletePrefix(redis, prefix);
      redis.disconnect();
    }
    await fx?.cleanup();
  });

  const submit = async (i: number) => {
    const payloads = [
      { action: "update_config", env: { COLOR: `c${i}` } },
      { action: "rebuild", build_args: { GREETING: `g${i}` } },
      { action: "redeploy", image: `${fx.repo}:${i % 2 ? "v1" : "v2"}` },
    ];
    const payload = payloads[i % 3] as Record<string, unknown>;
    const res = await jsonPost(intake.baseUrl, "/v1/improvements", key, {
      target_agent: name,
      improvement_type: "reliability",
      description: `crash campaign ${i}`,
      payload,
    });
    const body = (await res.json()) as { request_id: string };
    expect(res.status, JSON.stringify(body)).toBe(202);
    return { id: body.request_id, payload };
  };

  const stateOf = async (id: string) => (await redis.hget(k.request(id), "state")) as RequestState | null;

  it(`${KILLS} SIGKILLs at random moments: every request ends, never without a healthy replica, nothing orphaned`, async () => {
    let runner = await startRunner();
    const deadline = Date.now() + 20_000;
    while (!(await redis.hget(k.targets, name))) {
      if (Date.now() > deadline) throw new Error(`target not published: ${runner.output()}`);
      await sleep(100);
    }
    const watcher = watchHealthy(fx, name);
    const sent: Array<{ id: string; payload: Record<string, unknown> }> = [];
    const killedIn: string[] = [];
    try {
      for (let i = 0; i < KILLS; i++) {
        const r = await submit(i);
        sent.push(r);
        // Wait until the runner has the request in hand, then kill it somewhere in the rollout.
        const started = Date.now() + 30_000;
        while (!["running", "building", "deploying"].includes((await stateOf(r.id)) ?? "")) {
          if (Date.now() > started)
            throw new Error(`request ${i} never started: ${runner.output().slice(-3000)}`);
          await sleep(20);
        }
        await sleep(Math.random() * 3000);
        killedIn.push((await stateOf(r.id)) ?? "?");
        await runner.kill();
        children.delete(runner);
        runner = await startRunner();
      }
      const last = Date.now() + 120_000;
      for (;;) {
        const states = await Promise.all(sent.map((r) => stateOf(r.id)));
        if (states.every((s) => s && isTerminal(s))) break;
        if (Date.now() > last)
          throw new Error(`requests not ended: ${states}; ${runner.output().slice(-3000)}`);
        await sleep(200);
      }
    } finally {
      await watcher.stop();
    }
    process.stdout.write(
      `runner crash: ${KILLS} kills (states at the kill: ${killedIn.join(",")}), ${watcher.polls} polls, ${watcher.gaps.length} without a healthy replica\n`,
    );
    expect(watcher.gaps).toEqual([]);
    expect(watcher.polls).toBeGreaterThan(10);

    const final = await Promise.all(sent.map(async (r) => redis.hgetall(k.request(r.id))));
    const outcomes = final.map((s, i) => `${i} ${s.state} (${s.deliveries} deliveries): ${s.detail}`);
    process.stdout.write(
      `runner crash outcomes (v1 ${images.v1}, v2 ${images.v2}):\n${outcomes.join("\n")}\n`,
    );
    // The contract is an end for every request. Ends other than success are printed above: a
    // retry that runs after a later request changed the image fails on its revision tag (README,
    // "Fault and abuse campaign", known failures).
    expect(final.filter((s) => !isTerminal(s.state as RequestState))).toEqual([]);
    const done = sent
      .map((r, i) => ({ ...r, status: final[i] as Record<string, string> }))
      .filter((r) => r.status.state === "succeeded")
      .sort((a, b) => String(a.status.updated_at).localeCompare(String(b.status.updated_at)));
    expect(done.length).toBeGreaterThan(0);

    // Converged on the request that ended last: its revision; the env of the last update_config
    // and the image of the last redeploy or rebuild that succeeded (retries may run out of
    // submission order).
    const current = await expectConverged(fx, name, 2, [`${fx.repo}:v1`, `${fx.repo}:v2`]);
    const lastRevision = done[done.length - 1]?.status.revision;
    expect(current.map((c) => c.Config.Labels[STATE.revision])).toEqual([lastRevision, lastRevision]);
    const last = (action: string) => [...done].reverse().find((r) => r.payload.action === action)?.payload;
    const color = (last("update_config")?.env as Record<string, string> | undefined)?.COLOR;
    if (color) for (const c of current) expect(c.Config.Env).toContain(`COLOR=${color}`);
    const changed = [...done]
      .reverse()
      .find((r) => ["redeploy", "rebuild"].includes(String(r.payload.action)));
    if (changed?.payload.action === "redeploy") {
      const v1 = String(changed.payload.image).endsWith(":v1");
      for (const c of current) expect(c.Image).toBe(v1 ? images.v1 : images.v2);
    } else if (changed) {
      const built = await fx.docker.listImages({
        filters: { label: [`${BUILT.request}=${changed.id}`] },
      });
      expect(built.map((b) => b.Id)).toHaveLength(1);
      for (const c of current) expect(c.Image).toBe(built[0]?.Id);
    }
    await runner.kill();
    children.delete(runner);
  });

  it("a stream entry carrying escalation fields is dead-lettered by the schema; the containers are unchanged", async () => {
    const runner = await startRunner();
    const before = (await containersOf(fx, name)).map((c) => `${c.Id} ${c.State.StartedAt}`).sort();
    const crafted = [
      { action: "redeploy", image: `${fx.repo}:v2`, privileged: true },
      { action: "redeploy", image: `${fx.repo}:v2`, binds: ["/:/host"] },
      { action: "update_config", env: { COLOR: "x" }, cap_add: ["SYS_ADMIN"] },
      { action: "update_config", env: { COLOR: "x" }, network_mode: "host" },
    ];
    const ids: string[] = [];
    for (const [i, payload] of crafted.entries()) {
      const id = `crafted-${fx.id}-${i}`;
      ids.push(id);
      await redis.xadd(
        k.requestStream,
        "*",
        "payload",
        JSON.stringify({
          request_id: id,
          created_at: new Date().toISOString(),
          agent_id: "crash-agent",
          target_agent: name,
          improvement_type: "security",
          description: "escalate",
          payload,
          // Top-level fields a container spec might read, were they ever passed through.
          HostConfig: { Privileged: true, NetworkMode: "host" },
        }),
      );
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const letters = await redis.xlen(k.deadLetterStream);
      if (letters >= crafted.length) break;
      if (Date.now() > deadline) throw new Error(`not dead-lettered: ${runner.output().slice(-2000)}`);
      await sleep(100);
    }
    const reasons = (await redis.xrange(k.deadLetterStream, "-", "+")).map(
      ([, f]) => f[f.indexOf("reason") + 1],
    );
    expect(reasons).toEqual(crafted.map(() => expect.stringContaining("does not match the protocol")));
    // Nothing for them was opened as a request, and no container was touched.
    for (const id of ids) expect(await redis.exists(k.request(id))).toBe(0);
    expect((await containersOf(fx, name)).map((c) => `${c.Id} ${c.State.StartedAt}`).sort()).toEqual(before);
    await runner.kill();
    children.delete(runner);
  });
});
