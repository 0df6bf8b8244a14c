import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type LocalRedis, startLocalRedis } from "../../cli/local-redis.js";
import { parseRunnerConfig } from "../../runner/config.js";
import { createRunner, type Runner } from "../../runner/runner.js";
import { keys } from "../../shared/keys.js";
import { isTerminal, type RequestState } from "../../shared/protocol/index.js";
import { createIoredisClient } from "../../shared/redis/ioredis-adapter.js";
import { size } from "../support/campaign.js";
import { addAgent, publishTarget } from "../support/fixtures.js";
import { jsonPost } from "../support/intake-harness.js";
import type { RunningIntake } from "../support/intake-runtime.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { succeedAfter, TestCatalog, TestDeployer, testEnv, waitFor } from "../support/runner.js";

/**
 * Redis killed with SIGKILL in the middle of a burst of submissions, then started again on the
 * same port and data directory (AOF, fsync on every write): nothing the intake acknowledged with
 * a 202 is lost, the intake answers 503 while Redis is gone and recovers on its own, and the
 * runner reconnects, resumes its blocking read and finishes every request.
 */

const PREFIX = "campaign:";
const k = keys(PREFIX);

describe("Redis killed during a burst of submissions", { timeout: 240_000 }, () => {
  let dir: string;
  let port: number;
  let server: LocalRedis;
  let client: Redis;
  let intake: RunningIntake;
  let runner: Runner;
  let runnerRedis: Redis;
  let key: string;

  const startRedis = () => startLocalRedis({ dir, appendfsync: "always", port });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hct-redis-kill-"));
    port = await freePort();
    server = await startRedis();
    client = createIoredisClient(server.url, { enableOfflineQueue: true });
    client.on("error", () => {}); // the outage is the point; its errors are expected
    key = await addAgent(client, PREFIX, {
      id: "burst-agent",
      targets: ["test-agent"],
      actions: ["redeploy", "restart"],
      rate: 1_000_000,
    });
    await publishTarget(client, PREFIX, "test-agent", ["redeploy", "restart"]);
    intake = await startNodeTestIntake({
      redisUrl: server.url,
      prefix: PREFIX,
      vars: { TARGET_BUDGET: "1000000/hour" },
    });
    const config = parseRunnerConfig(testEnv(PREFIX, { REDIS_URL: server.url, RUNNER_ID: "survivor" }));
    runnerRedis = createIoredisClient(server.url, { enableOfflineQueue: true });
    // runner/main.ts attaches no error listener, so ioredis prints every reconnect failure as
    // "Unhandled error event"; the outage is expected here.
    runnerRedis.on("error", () => {});
    runner = createRunner({
      redis: runnerRedis,
      deployer: new TestDeployer("survivor", succeedAfter(5)),
      catalog: new TestCatalog([{ name: "test-agent", actions: ["redeploy", "restart"], replicas: 1 }]),
      config,
      log: pino({ level: process.env.TEST_RUNNER_LOG ?? "silent" }),
    });
    await runner.start();
  });

  afterAll(async () => {
    await runner?.stop().catch(() => undefined);
    runnerRedis?.disconnect();
    await intake?.stop();
    client?.disconnect();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One submission; a distinct description each, so nothing coalesces by accident of timing. */
  const submit = async (n: number) => {
    try {
      const res = await jsonPost(intake.baseUrl, "/v1/improvements", key, {
        target_agent: "test-agent",
        improvement_type: "reliability",
        description: `burst ${n}`,
        payload: n % 2 ? { action: "restart" } : { action: "redeploy" },
      });
      const body = (await res.json()) as { request_id?: string; type?: string };
      return { status: res.status, id: body.request_id, type: body.type };
    } catch (err) {
      return { status: 0, error: String(err) };
    }
  };

  it("keeps every 202, answers 503 while down, recovers by itself, and the runner finishes everything", async () => {
    const rounds = size(1, 5);
    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    let n = 0;
    for (let round = 0; round < rounds; round++) {
      // A steady burst: ten in flight at any time, for the whole round.
      let down = false;
      let sawDown = 0;
      let recovered = false;
      const burst = async () => {
        while (!recovered) {
          const r = await submit(n++);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 202 && r.id) accepted.push(r.id);
          else expect(r.status, JSON.stringify(r)).toBe(503);
          if (down && r.status === 503) sawDown++;
        }
      };
      const workers = Array.from({ length: 10 }, burst);
      await sleep(300 + Math.random() * 400);
      server.process.kill("SIGKILL");
      await server.stop();
      down = true;
      await waitFor("the intake to answer 503", () => sawDown >= 5, 10_000);
      server = await startRedis();
      // Recovery by itself: the same intake, untouched, accepts again.
      const before = accepted.length;
      await waitFor("the intake to accept again", () => accepted.length >= before + 10, 20_000);
      recovered = true;
      await Promise.all(workers);
    }
    expect(statuses.get(500) ?? 0).toBe(0);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);

    // Every 202: its status record and its stream entry survived the kill.
    for (const id of accepted) {
      const entryId = await client.hget(k.request(id), "entry_id");
      expect(entryId, id).toBeTruthy();
      expect(await client.xrange(k.requestStream, entryId as string, entryId as string), id).toHaveLength(1);
    }
    // The runner reconnected on its own and carried every one of them to an end.
    let counts: Record<string, number> = {};
    try {
      await waitFor(
        "every accepted request to end",
        async () => {
          const states = await Promise.all(accepted.map((id) => client.hget(k.request(id), "state")));
          counts = {};
          for (const s of states) counts[String(s)] = (counts[String(s)] ?? 0) + 1;
          return states.every((s) => s && isTerminal(s as RequestState));
        },
        // The long variant accepts some two thousand requests; on a loaded machine they take a while.
        size(60_000, 240_000),
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; states: ${JSON.stringify(counts)}`);
    }
    const states = await Promise.all(accepted.map((id) => client.hget(k.request(id), "state")));
    expect(new Set(states)).toEqual(new Set(states.filter((s) => s === "succeeded" || s === "coalesced")));
    process.stdout.write(
      `redis kill: ${rounds} kill(s), ${accepted.length} accepted, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`,
    );
  });
});
