import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { StreamConsumer } from "../../runner/consume.js";
import { PermanentError } from "../../runner/errors.js";
import { trimStream } from "../../runner/trim.js";
import { type Keys, RUNNER_GROUP } from "../../shared/keys.js";
import { publishedTarget } from "../../shared/protocol/index.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import {
  enqueue,
  newGate,
  newRequest,
  perTestPrefix,
  readAs,
  startTestRunner,
  TestCatalog,
  TestDeployer,
  waitFor,
  waitForState,
} from "../support/runner.js";

let client: Redis;
let prefix: string;
let k: Keys;
perTestPrefix((t) => ({ client, prefix, k } = t));

const streamIds = async () => (await client.xrange(k.requestStream, "-", "+")).map(([id]) => id);

describe("trimming the request stream", () => {
  it("removes old acknowledged entries, never one that is pending or not yet read", async () => {
    for (const id of ["1000-0", "2000-0", "3000-0", "4000-0"])
      await client.xadd(k.requestStream, id, "payload", "{}");
    await client.xgroup("CREATE", k.requestStream, RUNNER_GROUP, "0");
    await readAs(client, k, "dead-runner", 3);
    await client.xack(k.requestStream, RUNNER_GROUP, "1000-0", "3000-0");
    const consumer = new StreamConsumer(new IoredisAdapter(client), client, k, "trimmer");
    const retention = 60_000;

    // 2000-0 is still pending: the cut stops there, so 3000-0 (acked but after it) stays too.
    expect(await trimStream(client, k, consumer, retention, Date.now())).toEqual({
      minId: "2000-0",
      removed: 1,
    });
    expect(await streamIds()).toEqual(["2000-0", "3000-0", "4000-0"]);

    // Once acked, the cut moves to the first entry no runner has read: 4000-0.
    await client.xack(k.requestStream, RUNNER_GROUP, "2000-0");
    await trimStream(client, k, consumer, retention, Date.now());
    expect(await streamIds()).toEqual(["4000-0"]);

    // A recent entry, read and acked, is kept by the retention; the old one goes.
    const recent = (await client.xadd(k.requestStream, "*", "payload", "{}")) as string;
    await readAs(client, k, "dead-runner", 2);
    await client.xack(k.requestStream, RUNNER_GROUP, "4000-0", recent);
    await trimStream(client, k, consumer, retention, Date.now());
    expect(await streamIds()).toEqual([recent]);
  });

  it("trims periodically while the runner runs", async () => {
    await startTestRunner(prefix, { env: { STREAM_RETENTION: "1ms", TRIM_INTERVAL: "100ms" } });
    const r = newRequest();
    await enqueue(client, prefix, r);
    await waitForState(client, prefix, r.request_id, "succeeded");
    await waitFor("the acked entry to be trimmed", async () => (await client.xlen(k.requestStream)) === 0);
  });
});

describe("metrics and health", () => {
  it("exposes counters, the deploy duration, queue lag and pending count", async () => {
    const gate = newGate();
    const deployer = new TestDeployer("runner-a", async (ctx) => {
      if (ctx.request.payload.action === "rebuild") throw new PermanentError("no build context");
      if (ctx.request.target_agent === "gated") await gate.wait;
      return { state: "succeeded", detail: "ok" };
    });
    const t = await startTestRunner(prefix, { deployer });
    const base = `http://127.0.0.1:${t.runner.port}`;
    const metric = async (line: string) => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return text.split("\n").find((l) => l.startsWith(`${line} `));
    };

    await enqueue(client, prefix, newRequest({ action: "redeploy" }));
    await enqueue(client, prefix, newRequest({ action: "rebuild" }));
    await client.xadd(k.requestStream, "*", "garbage", "1");
    const gated = newRequest({ action: "restart" }, { target_agent: "gated" });
    await enqueue(client, prefix, gated);
    await waitFor("the gated deploy to start", () => deployer.calls.some((c) => c.target === "gated"));
    for (let i = 0; i < 3; i++)
      await enqueue(client, prefix, newRequest({ action: "restart" }, { target_agent: `t${i}` }));

    expect(await metric("hypercode_runner_pending")).toBe("hypercode_runner_pending 1");
    expect(await metric("hypercode_runner_queue_lag")).toBe("hypercode_runner_queue_lag 3");
    expect(await metric("hypercode_runner_held")).toBe("hypercode_runner_held 1");
    expect(
      await metric('hypercode_runner_requests_processed_total{action="redeploy",outcome="succeeded"}'),
    ).toMatch(/ 1$/);
    expect(
      await metric('hypercode_runner_requests_processed_total{action="rebuild",outcome="failed"}'),
    ).toMatch(/ 1$/);
    expect(await metric('hypercode_runner_attempts_failed_total{action="rebuild",kind="permanent"}')).toMatch(
      / 1$/,
    );
    expect(await metric('hypercode_runner_dead_lettered_total{reason="undecodable"}')).toMatch(/ 1$/);
    expect(
      await metric('hypercode_runner_deploy_duration_seconds_count{action="redeploy",outcome="succeeded"}'),
    ).toMatch(/ 1$/);

    gate.open();
    await waitFor(
      "the queue to drain",
      async () => (await metric("hypercode_runner_queue_lag")) === "hypercode_runner_queue_lag 0",
    );
    await waitFor(
      "nothing pending",
      async () => (await metric("hypercode_runner_pending")) === "hypercode_runner_pending 0",
    );

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, runner_id: "runner-a", redis: "ok" });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe("publishing targets", () => {
  it("announces the catalog's targets with an expiry, withdraws those it stops serving, prunes dead runners'", async () => {
    const past = Date.now() - 1000;
    await client.hset(
      k.targets,
      "ghost-target",
      JSON.stringify({ target: "ghost-target", actions: [], runner_id: "ghost", expires_at: past }),
    );
    const elsewhere = {
      target: "elsewhere",
      actions: ["restart"],
      runner_id: "runner-z",
      expires_at: Date.now() + 600_000,
    };
    await client.hset(k.targets, "elsewhere", JSON.stringify(elsewhere));
    await client.hset(k.runners, "ghost", JSON.stringify({ runner_id: "ghost", expires_at: past }));

    const catalog = new TestCatalog([
      {
        name: "test-agent",
        actions: ["restart", "redeploy"],
        replicas: 2,
        revision: "r7",
        budget: { limit: 5, window_ms: 60_000 },
      },
      { name: "api", actions: ["rebuild"], replicas: 1 },
    ]);
    const before = Date.now();
    const t = await startTestRunner(prefix, { catalog, env: { PUBLISH_INTERVAL: "300ms" } });

    const published = await waitFor("both targets published", async () => {
      const all = await client.hgetall(k.targets);
      return all["test-agent"] && all.api ? all : undefined;
    });
    const agent = publishedTarget.parse(JSON.parse(published["test-agent"] as string));
    expect(agent).toMatchObject({
      target: "test-agent",
      actions: ["restart", "redeploy"],
      runner_id: "runner-a",
      replicas: 2,
      revision: "r7",
      budget: { limit: 5, window_ms: 60_000 },
    });
    expect(agent.expires_at).toBeGreaterThanOrEqual(before + 900);
    expect(agent.expires_at).toBeLessThanOrEqual(Date.now() + 900);
    expect(published["ghost-target"]).toBeUndefined();
    expect(JSON.parse(published.elsewhere as string)).toEqual(elsewhere);

    const runners = await client.hgetall(k.runners);
    expect(runners.ghost).toBeUndefined();
    expect(JSON.parse(runners["runner-a"] as string)).toMatchObject({
      runner_id: "runner-a",
      targets: ["test-agent", "api"],
    });

    catalog.targets = [{ name: "api", actions: ["rebuild"], replicas: 1 }];
    await waitFor("test-agent withdrawn", async () => (await client.hget(k.targets, "test-agent")) === null);
    expect(await client.hget(k.targets, "elsewhere")).not.toBeNull();

    await t.stop();
    expect(await client.hget(k.runners, "runner-a")).toBeNull();
  });
});
