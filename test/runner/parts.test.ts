import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { backoffMs } from "../../runner/backoff.js";
import { coalesceKey, pickCoalesced } from "../../runner/coalesce.js";
import { parseRunnerConfig } from "../../runner/config.js";
import { StreamConsumer } from "../../runner/consume.js";
import { LockLostError } from "../../runner/errors.js";
import { Every } from "../../runner/every.js";
import { Heartbeat } from "../../runner/heartbeat.js";
import { TargetLocks } from "../../runner/lock.js";
import { ConfigError } from "../../shared/config/parse.js";
import { type Keys, RUNNER_GROUP } from "../../shared/keys.js";
import type { ImprovementPayload } from "../../shared/protocol/index.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import { newRequest, perTestPrefix, readAs, waitFor } from "../support/runner.js";

describe("runner config", () => {
  it("has defaults, and derives the heartbeat from the claim idle time", () => {
    const c = parseRunnerConfig({}, "host-1");
    expect(c).toMatchObject({
      redisUrl: "redis://127.0.0.1:6379",
      runnerId: "host-1",
      claimIdleMs: 30_000,
      heartbeatMs: 10_000,
      maxDeliveries: 5,
      streamRetentionMs: 86_400_000,
      publishIntervalMs: 10_000,
      port: 9464,
      targets: undefined,
    });
    expect(parseRunnerConfig({ CLAIM_IDLE: "3s", HYPERCODE_TARGETS: "api, test-agent" })).toMatchObject({
      heartbeatMs: 1000,
      targets: ["api", "test-agent"],
    });
    expect(parseRunnerConfig({ HYPERCODE_TARGETS: "" }).targets).toBeUndefined();
  });

  it.each([
    [{ CLAIM_IDLE: "soon" }, "CLAIM_IDLE"],
    [{ CLAIM_IDLE: "10s", HEARTBEAT: "10s" }, "HEARTBEAT"],
    [{ MAX_DELIVERIES: "0" }, "MAX_DELIVERIES"],
    [{ RETRY_BASE: "10s", RETRY_MAX: "1s" }, "RETRY_MAX"],
    [{ HYPERCODE_TARGETS: "api,Not A Slug" }, "HYPERCODE_TARGETS"],
    [{ RUNNER_PORT: "99999" }, "RUNNER_PORT"],
    [{ REDIS_URL: "localhost:6379" }, "REDIS_URL"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
  ])("refuses %o naming %s", (env, variable) => {
    expect(() => parseRunnerConfig(env)).toThrow(ConfigError);
    expect(() => parseRunnerConfig(env)).toThrow(
      new RegExp(`^Invalid runner configuration:\\n  ${variable}`),
    );
  });
});

describe("backoff", () => {
  it("grows exponentially up to the cap, with the jitter spread over the whole window", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 100, 1000, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffMs(3, 100, 1000, () => 0)).toBe(0);
    expect(backoffMs(3, 100, 1000, () => 0.5)).toBe(200);
    expect(backoffMs(10_000, 100, 1000, () => 1)).toBe(1000);
  });
});

describe("coalescing plan", () => {
  const open = (payload: ImprovementPayload, target = "api") => ({
    id: "",
    request: newRequest(payload, { target_agent: target }),
  });
  const line = (...items: ReturnType<typeof open>[]) => items.map((o, i) => ({ ...o, id: `${1000 + i}-0` }));

  it("coalesces only actions that converge, with identical payloads, whatever the key order", () => {
    expect(coalesceKey(newRequest({ action: "restart" }))).toBeDefined();
    expect(coalesceKey(newRequest({ action: "scale", replicas: 2 }))).toBeUndefined();
    expect(coalesceKey(newRequest({ action: "update_config", env: { A: "1" } }))).toBeUndefined();
    expect(coalesceKey(newRequest({ action: "rollback" }))).toBeUndefined();
    expect(coalesceKey(newRequest({ action: "rebuild", build_args: { A: "1", B: "2" } }))).toBe(
      coalesceKey(newRequest({ action: "rebuild", build_args: { B: "2", A: "1" } })),
    );
    expect(coalesceKey(newRequest({ action: "redeploy", image: "api:v2" }))).not.toBe(
      coalesceKey(newRequest({ action: "redeploy", image: "api:v3" })),
    );
  });

  it("takes the unbroken run of identical requests around the carrier, on its target only", () => {
    const entries = line(
      open({ action: "restart" }), // 0: before a break
      open({ action: "scale", replicas: 3 }), // 1: breaks the run
      open({ action: "restart" }), // 2
      open({ action: "restart" }), // 3: carrier
      open({ action: "restart" }, "other"), // 4: another target, neither picked nor a break
      open({ action: "restart" }), // 5
      open({ action: "redeploy" }), // 6: breaks the run
      open({ action: "restart" }), // 7
    );
    const carrier = entries[3]!;
    expect(pickCoalesced(carrier, entries).map((e) => e.id)).toEqual(["1002-0", "1005-0"]);
    expect(pickCoalesced(entries[1]!, entries)).toEqual([]);
  });

  it("neither coalesces nor breaks on another entry of the carrier's own request", () => {
    const entries = line(
      open({ action: "restart" }),
      open({ action: "restart" }),
      open({ action: "restart" }),
    );
    const dup = { ...entries[1]!, request: entries[0]!.request };
    expect(pickCoalesced(entries[0]!, [entries[0]!, dup, entries[2]!]).map((e) => e.id)).toEqual(["1002-0"]);
  });
});

describe("timed loops", () => {
  it("Every never overlaps runs, survives errors, and stop waits for the run in progress", async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const errors: unknown[] = [];
    const loop = new Every(
      5,
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs++;
        await sleep(20);
        running--;
        if (runs === 2) throw new Error("one bad run");
      },
      (err) => errors.push(err),
    ).start(true);
    await waitFor("a few runs", () => runs >= 4);
    await loop.stop();
    expect(running).toBe(0);
    const after = runs;
    await sleep(50);
    expect(runs).toBe(after);
    expect(maxRunning).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it("Heartbeat touches what it holds and drops what the touch says is lost", async () => {
    const touched: string[][] = [];
    const lost: string[][] = [];
    const hb = new Heartbeat({
      intervalMs: 10,
      touch: async (ids) => {
        touched.push([...ids]);
        return ids.filter((id) => id === "2-0");
      },
      onLost: (ids) => lost.push([...ids]),
      onError: () => undefined,
    });
    await hb.beat();
    expect(touched).toEqual([]); // nothing held, nothing sent
    hb.add("1-0");
    hb.add("2-0");
    hb.start();
    await waitFor("two beats", () => touched.length >= 2);
    await hb.stop();
    expect(touched[0]).toEqual(["1-0", "2-0"]);
    expect(touched[1]).toEqual(["1-0"]);
    expect(lost).toEqual([["2-0"]]);
    expect(hb.ids).toEqual(["1-0"]);
  });
});

describe("Redis parts", () => {
  let client: Redis;
  let k: Keys;
  perTestPrefix((t) => ({ client, k } = t));

  it("a target lock: one holder, growing fences, renewed and released only by its owner", async () => {
    const errors: unknown[] = [];
    const a = new TargetLocks(new IoredisAdapter(client), k, "runner-a", 500, (e) => errors.push(e));
    const b = new TargetLocks(new IoredisAdapter(client), k, "runner-b", 500, (e) => errors.push(e));
    const first = await a.acquire("api");
    if (!first.ok) throw new Error("runner-a should get the free lock");
    expect(await b.acquire("api")).toEqual({ ok: false, holder: "runner-a" });
    // Renewal keeps it past its TTL.
    await sleep(800);
    expect(await b.acquire("api")).toEqual({ ok: false, holder: "runner-a" });
    await first.lock.release();
    const second = await b.acquire("api");
    if (!second.ok) throw new Error("runner-b should get the released lock");
    expect(second.lock.fence).toBeGreaterThan(first.lock.fence);
    // runner-a's stale handle neither renews nor deletes runner-b's lock.
    await expect(first.lock.renew()).rejects.toBeInstanceOf(LockLostError);
    await first.lock.release();
    expect(await client.get(k.targetLock("api"))).toBe(second.lock.token);
    await second.lock.release();
    expect(await client.exists(k.targetLock("api"))).toBe(0);
    expect(errors).toEqual([]);
  });

  it("a lock that expired and was taken over aborts its old holder's signal", async () => {
    const a = new TargetLocks(new IoredisAdapter(client), k, "runner-a", 300, () => undefined);
    const first = await a.acquire("api");
    if (!first.ok) throw new Error("lock should be free");
    await client.set(k.targetLock("api"), "runner-b#x", "PX", 10_000); // as if it had expired and been taken
    await waitFor("the renewal to notice", () => first.lock.lost.aborted);
    expect(first.lock.lost.reason).toBeInstanceOf(LockLostError);
    expect(String(first.lock.lost.reason.message)).toMatch(/runner-b holds it now/);
    await first.lock.release();
    expect(await client.get(k.targetLock("api"))).toBe("runner-b#x");
  });

  it("a heartbeat touch never steals an entry another consumer has claimed; redelivery checks ownership", async () => {
    const id = (await client.xadd(k.requestStream, "*", "payload", "{}")) as string;
    await client.xgroup("CREATE", k.requestStream, RUNNER_GROUP, "0");
    await readAs(client, k, "runner-a", 1);
    const a = new StreamConsumer(new IoredisAdapter(client), client, k, "runner-a");
    const b = new StreamConsumer(new IoredisAdapter(client), client, k, "runner-b");
    expect(await a.touch([id])).toEqual([]);

    await client.xclaim(k.requestStream, RUNNER_GROUP, "runner-b", 0, id);
    expect(await a.touch([id])).toEqual([id]);
    expect(await a.redeliver(id, true)).toBeUndefined();
    const pel = (await client.xpending(k.requestStream, RUNNER_GROUP, "-", "+", 10)) as [
      string,
      string,
      number,
      number,
    ][];
    expect(pel.map(([, owner, , n]) => [owner, n])).toEqual([["runner-b", 2]]);

    // The owner takes it up again: counted for a retry, not for a lock wait.
    expect(await b.redeliver(id, false)).toMatchObject({ id, deliveries: 2, fields: { payload: "{}" } });
    expect(await b.redeliver(id, true)).toMatchObject({ id, deliveries: 3 });
  });
});
