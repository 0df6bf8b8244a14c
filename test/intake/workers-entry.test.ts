import { setTimeout as sleep } from "node:timers/promises";
import type { ExecutionContext } from "hono";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type RestBridge, startRestBridge } from "../../bridge/rest-bridge.js";
import { type LocalRedis, startLocalRedis } from "../../cli/local-redis.js";
import { freshPrefix, redisUrl } from "../support/redis.js";
import { liveGroupMembers, startWorkersIntake, type WorkersIntake } from "../support/workers-intake.js";

/**
 * The Workers entry (edge/workers/index.ts): in-process for its edge cases, then on real workerd.
 * The intake's behaviour on workerd is test/intake/workers.test.ts (the shared suite).
 */

type Entry = {
  fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Response | Promise<Response>;
};
const ctx = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
} as unknown as ExecutionContext;

/** A fresh copy of the entry module: it builds the app once per isolate, i.e. once per import. */
const freshEntry = async (): Promise<Entry> => {
  vi.resetModules();
  return (await import("../../edge/workers/index.js")).default as Entry;
};

const problemOf = async (res: Response) => {
  expect(res.status).toBe(500);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json()) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    instance: string;
  };
};

describe("Workers entry, in-process", () => {
  const TOKEN = "entry-test-token";
  let bridge: RestBridge;
  beforeAll(async () => {
    bridge = await startRestBridge({ redisUrl: redisUrl(), token: TOKEN });
  });
  afterAll(() => bridge.close());

  it("serves the app over @upstash/redis when the configuration is good", async () => {
    const entry = await freshEntry();
    const env = {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: TOKEN,
      KEY_PREFIX: freshPrefix(),
    };
    const health = await entry.fetch(new Request("http://intake/healthz"), env, ctx);
    expect(await health.json()).toEqual({ status: "ok", runtime: "workers" });
    // /readyz pings Redis through the bridge: the token and URL really reached the client.
    expect((await entry.fetch(new Request("http://intake/readyz"), env, ctx)).status).toBe(200);
  });

  it("answers every request with a 500 problem naming each bad variable, and logs it once", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const entry = await freshEntry();
      const env = { UPSTASH_REDIS_REST_URL: "redis://not-http", TARGET_BUDGET: "lots" };
      for (const path of ["/healthz", "/v1/improvements", "/nowhere"]) {
        const problem = await problemOf(await entry.fetch(new Request(`http://intake${path}`), env, ctx));
        expect(problem).toMatchObject({
          type: "urn:hypercode:problem:invalid-configuration",
          status: 500,
          instance: path,
        });
        expect(problem.detail).toMatch(/UPSTASH_REDIS_REST_URL: must be an http\(s\) URL/);
        expect(problem.detail).toMatch(
          /UPSTASH_REDIS_REST_TOKEN: is not set; set it with `wrangler secret put/,
        );
        expect(problem.detail).toMatch(/TARGET_BUDGET: 'lots' is not a rate/);
      }
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0]?.[0])).toMatch(/invalid configuration.*TARGET_BUDGET/);
    } finally {
      log.mockRestore();
    }
  });

  it("never echoes the token, even a bad one", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const entry = await freshEntry();
      const env = { UPSTASH_REDIS_REST_URL: "ftp://x", UPSTASH_REDIS_REST_TOKEN: "s3cret-token" };
      const res = await entry.fetch(new Request("http://intake/healthz"), env, ctx);
      expect(await res.text()).not.toContain("s3cret-token");
    } finally {
      log.mockRestore();
    }
  });
});

describe("Workers entry on workerd (wrangler dev)", () => {
  let redis: LocalRedis;
  let intake: WorkersIntake;
  beforeAll(async () => {
    // A Redis of its own, so that taking it away touches no other test.
    redis = await startLocalRedis();
    intake = await startWorkersIntake({ redisUrl: redis.url, prefix: freshPrefix() });
  });
  afterAll(async () => {
    await intake.stop();
    await redis.stop();
  });

  it("answers 503 with Retry-After at once while Redis is away, and recovers when it is back", async () => {
    const ready = () => fetch(new URL("/readyz", intake.baseUrl));
    expect((await ready()).status).toBe(200);
    await redis.stop();
    const t0 = performance.now();
    const res = await ready();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(res.headers.get("content-type")).toBe("application/problem+json");

    redis = await startLocalRedis({ port: redis.port });
    const deadline = Date.now() + 5000;
    let status = (await ready()).status;
    while (status !== 200 && Date.now() < deadline) {
      await sleep(100);
      status = (await ready()).status;
    }
    expect(status).toBe(200);
  });

  it("stop() takes down wrangler, workerd and the bridge, and can be called again", async () => {
    await intake.stop();
    await intake.stop();
    expect(liveGroupMembers(intake.pid)).toEqual([]);
    await expect(fetch(new URL("/healthz", intake.baseUrl))).rejects.toThrow();
    await expect(fetch(intake.bridgeUrl, { method: "POST" })).rejects.toThrow();
  });

  it("a misconfigured Worker answers 500 problem+json naming the variable", async () => {
    const bad = await startWorkersIntake({
      redisUrl: redisUrl(),
      prefix: freshPrefix(),
      vars: { STATUS_TTL: "forever" },
      anyAnswer: true,
    });
    try {
      const problem = await problemOf(await fetch(new URL("/v1/targets", bad.baseUrl)));
      expect(problem.detail).toMatch(/STATUS_TTL: 'forever' is not a duration/);
    } finally {
      await bad.stop();
    }
  });
});
