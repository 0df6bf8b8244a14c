import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startLocalRedis } from "../../cli/local-redis.js";
import { createApp } from "../../edge/app.js";
import { parseIntakeConfig } from "../../edge/config.js";
import { keys } from "../../shared/keys.js";
import { createIoredisClient, IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import type { RedisPort } from "../../shared/redis/port.js";
import { CountingPort } from "../support/counting-port.js";
import { addAgent, publishTarget, uniqueName } from "../support/fixtures.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

const body = (target: string) =>
  JSON.stringify({
    target_agent: target,
    improvement_type: "security",
    description: "bump openssl",
    payload: { action: "rebuild", build_args: { OPENSSL: "3.0.15" } },
  });

describe("the intake app in process", () => {
  let redis: Redis;
  let client: Redis;
  const prefix = freshPrefix();

  beforeAll(async () => {
    redis = testClient();
    client = createIoredisClient(redisUrl());
    await new Promise((r) => client.once("ready", r));
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
    client.disconnect();
  });

  const build = (port: RedisPort, clock: () => number = Date.now) =>
    createApp({
      redis: port,
      config: parseIntakeConfig({ KEY_PREFIX: prefix }),
      clock,
      newId: () => crypto.randomUUID(),
      runtime: "node",
    });

  const setup = async (rate = 100, windowMs = 60_000) => {
    const target = uniqueName("svc");
    const agent = uniqueName("agent");
    const key = await addAgent(redis, prefix, {
      id: agent,
      targets: [target],
      actions: ["rebuild"],
      rate,
      windowMs,
    });
    await publishTarget(redis, prefix, target, ["rebuild"]);
    return { target, key };
  };

  const post = (
    app: ReturnType<typeof build>,
    key: string,
    payload: string,
    headers: Record<string, string> = {},
  ) =>
    app.request("/v1/improvements", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
      body: payload,
    });

  it("makes exactly one Redis round trip per accepted submission, idempotent or not", async () => {
    const { target, key } = await setup();
    const port = new CountingPort(new IoredisAdapter(client));
    const app = build(port);
    await post(app, key, body(target)); // loads the script if the server lacks it
    port.calls = [];
    expect((await post(app, key, body(target))).status).toBe(202);
    expect(port.calls).toEqual(["evalsha"]);
    port.calls = [];
    expect((await post(app, key, body(target), { "idempotency-key": "k-1" })).status).toBe(202);
    expect(port.calls).toEqual(["evalsha"]);
  });

  it("builds status_url from PUBLIC_URL, else a relative path, never from the Host header", async () => {
    const { target, key } = await setup();
    const evilHost = { host: "evil.example" };
    const plain = await post(build(new IoredisAdapter(client)), key, body(target), evilHost);
    const relative = (await plain.json()) as { request_id: string; status_url: string };
    expect(relative.status_url).toBe(`/v1/improvements/${relative.request_id}`);
    const configured = createApp({
      redis: new IoredisAdapter(client),
      config: parseIntakeConfig({ KEY_PREFIX: prefix, PUBLIC_URL: "https://hc.example.com/intake/" }),
      clock: Date.now,
      newId: () => crypto.randomUUID(),
      runtime: "node",
    });
    const res = await post(configured, key, body(target), evilHost);
    const absolute = (await res.json()) as { request_id: string; status_url: string };
    expect(absolute.status_url).toBe(`https://hc.example.com/intake/v1/improvements/${absolute.request_id}`);
    expect(res.headers.get("location")).toBe(`/v1/improvements/${absolute.request_id}`);
  });

  it("loads the script with EVAL when Redis has none cached, then uses EVALSHA", async () => {
    // A private server: flushing the shared one's script cache would disturb other test files.
    const own = await startLocalRedis();
    const ownClient = createIoredisClient(own.url, { enableOfflineQueue: true });
    try {
      const target = uniqueName("svc");
      const key = await addAgent(ownClient, prefix, {
        id: uniqueName("agent"),
        targets: [target],
        actions: ["rebuild"],
      });
      await publishTarget(ownClient, prefix, target, ["rebuild"]);
      const port = new CountingPort(new IoredisAdapter(ownClient));
      const app = build(port);
      expect((await post(app, key, body(target))).status).toBe(202);
      expect(port.calls).toEqual(["evalsha", "eval"]);
      port.calls = [];
      expect((await post(app, key, body(target))).status).toBe(202);
      expect(port.calls).toEqual(["evalsha"]);
    } finally {
      ownClient.disconnect();
      await own.stop();
    }
  });

  it("lets an agent submit again once its window has slid past (clock injected)", async () => {
    const { target, key } = await setup(2, 10_000);
    let now = Date.now();
    const app = build(new IoredisAdapter(client), () => now);
    expect((await post(app, key, body(target))).status).toBe(202);
    now += 4_000;
    expect((await post(app, key, body(target))).status).toBe(202);
    now += 1_000;
    const limited = await post(app, key, body(target));
    expect(limited.status).toBe(429);
    // The oldest submission leaves the window 5 s from now.
    expect(limited.headers.get("retry-after")).toBe("5");
    now += 5_000;
    expect((await post(app, key, body(target))).status).toBe(202);
    expect((await post(app, key, body(target))).status).toBe(429);
  });

  it("answers 503 with Retry-After, and no stack trace, while Redis is unreachable", async () => {
    const { target, key } = await setup();
    const dead = createIoredisClient(`redis://127.0.0.1:${await freePort()}`);
    dead.on("error", () => {});
    const app = build(new IoredisAdapter(dead));
    try {
      for (const res of [
        await post(app, key, body(target)),
        await app.request("/readyz"),
        await app.request("/v1/targets", { headers: { authorization: `Bearer ${key}` } }),
      ]) {
        expect(res.status).toBe(503);
        expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
        expect(res.headers.get("content-type")).toContain("application/problem+json");
        expect(await res.text()).not.toMatch(/ at |ECONNREFUSED/);
      }
      expect((await app.request("/healthz")).status).toBe(200);
    } finally {
      dead.disconnect();
    }
  });

  it("answers 500 problem+json without internals when something unexpected breaks", async () => {
    const { target, key } = await setup();
    const broken: RedisPort = {
      evalsha: async () => {
        throw new TypeError("secret internal detail");
      },
      eval: async () => "{}",
      ping: async () => {},
    };
    const original = console.error;
    console.error = () => {};
    try {
      const res = await post(build(broken), key, body(target));
      expect(res.status).toBe(500);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(await res.text()).not.toContain("secret internal detail");
    } finally {
      console.error = original;
    }
  });

  it("writes nothing when a refusal comes from the script", async () => {
    const { target, key } = await setup(1);
    const app = build(new IoredisAdapter(client));
    const k = keys(prefix);
    expect((await post(app, key, body(target))).status).toBe(202);
    const length = await redis.xlen(k.requestStream);
    const statusKeys = (await redis.keys(`${prefix}hypercode:request:*`)).length;
    expect((await post(app, key, body(target))).status).toBe(429);
    expect(await redis.xlen(k.requestStream)).toBe(length);
    expect((await redis.keys(`${prefix}hypercode:request:*`)).length).toBe(statusKeys);
  });
});
