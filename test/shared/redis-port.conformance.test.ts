import { createHash } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRestBridge } from "../../bridge/rest-bridge.js";
import { freePort, type LocalRedis, startLocalRedis } from "../../cli/local-redis.js";
import { NoScriptError, StoreCommandError, StoreUnavailableError } from "../../shared/errors.js";
import type { LuaScript } from "../../shared/lua/script.js";
import { createIoredisClient, IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import type { RedisPort } from "../../shared/redis/port.js";
import { runScript } from "../../shared/redis/run-script.js";
import { createUpstashClient, UpstashAdapter } from "../../shared/redis/upstash-adapter.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

/**
 * One suite, every RedisPort adapter: the intake must behave the same on Node (ioredis, straight
 * to Redis) and on Workers (@upstash/redis, over HTTP through our Upstash-compatible bridge).
 *
 * Differences between the clients, found here and documented rather than hidden:
 * - none in the replies our scripts can produce: integers, nil, arrays (nested, with nil inside),
 *   status replies and strings come back identical;
 * - neither client is binary-safe in what it returns: bytes that are not UTF-8 become U+FFFD in
 *   both (ioredis decodes replies as UTF-8; @upstash/redis base64-decodes, then TextDecoder does
 *   the same). The port is text-only by design; every script replies with JSON.
 */

const TOKEN = "conformance-token";
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const ioredisClient = async (url: string, waitReady: boolean): Promise<Redis> => {
  const client = createIoredisClient(url);
  // The adapter reports outages per call; the background reconnect errors are expected here.
  client.on("error", () => {});
  cleanups.push(() => client.disconnect());
  // Fail-fast clients refuse commands until connected, so a test waits for the connection first.
  if (waitReady) await new Promise((resolve) => client.once("ready", resolve));
  return client;
};

interface Subject {
  name: string;
  /** The adapter over the Redis at this URL (for Upstash: through a bridge of its own). */
  connect(redisUrl: string): Promise<RedisPort>;
  /** The adapter pointed straight at a local port where Redis is not (closed, or silent). */
  direct(port: number): Promise<RedisPort>;
}

const subjects: Subject[] = [
  {
    name: "IoredisAdapter (direct)",
    connect: async (url) => new IoredisAdapter(await ioredisClient(url, true)),
    direct: async (port) => new IoredisAdapter(await ioredisClient(`redis://127.0.0.1:${port}`, false)),
  },
  {
    name: "UpstashAdapter (through the REST bridge)",
    connect: async (url) => {
      const bridge = await startRestBridge({ redisUrl: url, token: TOKEN });
      cleanups.push(bridge.close);
      return new UpstashAdapter(createUpstashClient({ url: bridge.url, token: TOKEN }));
    },
    direct: async (port) =>
      new UpstashAdapter(
        createUpstashClient({ url: `http://127.0.0.1:${port}`, token: TOKEN, timeoutMs: 500 }),
      ),
  },
];

const script = (name: string, source: string): LuaScript => ({
  name,
  source,
  sha1: createHash("sha1").update(source).digest("hex"),
});

const ECHO_THROUGH_KEY = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])";

/** Resolves with the error the promise rejects with, and how long that took. */
const failure = async (p: Promise<unknown>): Promise<{ err: unknown; ms: number }> => {
  const t0 = performance.now();
  try {
    await p;
  } catch (err) {
    return { err, ms: performance.now() - t0 };
  }
  throw new Error("expected a rejection, got a reply");
};

/** A TCP server that accepts connections and never says a word. */
const silentServer = async (): Promise<{ port: number; close(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
};

describe.each(subjects)("RedisPort conformance: $name", (subject) => {
  const client = testClient();
  const prefix = freshPrefix();
  let redis: RedisPort;
  let own: LocalRedis;
  let ownClient: Redis;

  beforeAll(async () => {
    redis = await subject.connect(redisUrl());
    // SCRIPT FLUSH and outages get a Redis of their own, so other test files never feel them.
    own = await startLocalRedis();
    ownClient = await ioredisClient(own.url, true);
  });

  afterAll(async () => {
    await deletePrefix(client, prefix);
    client.disconnect();
    await own.stop();
  });

  it("eval runs a script with its keys and arguments", async () => {
    const key = `${prefix}eval`;
    const reply = await redis.eval(
      "redis.call('SET', KEYS[1], ARGV[1]) return {KEYS[1], redis.call('GET', KEYS[1]), ARGV[2]}",
      [key],
      ["written", 7],
    );
    expect(reply).toEqual([key, "written", "7"]);
    expect(await client.get(key)).toBe("written");
  });

  it("evalsha runs a script the server has loaded", async () => {
    const key = `${prefix}evalsha`;
    const sha = (await client.script("LOAD", "return redis.call('INCRBY', KEYS[1], ARGV[1])")) as string;
    expect(await redis.evalsha(sha, [key], [5])).toBe(5);
    expect(await redis.evalsha(sha, [key], ["2"])).toBe(7);
    expect(await client.get(key)).toBe("7");
  });

  it("a JSON reply arrives as the very string the script built, never parsed", async () => {
    const reply = await redis.eval(
      "return cjson.encode({ok=true, n=tonumber(ARGV[1]), s=ARGV[2]})",
      [],
      [5, "x"],
    );
    expect(typeof reply).toBe("string");
    expect(JSON.parse(reply as string)).toEqual({ ok: true, n: 5, s: "x" });
    // Strings that look like JSON or numbers stay strings on both clients.
    expect(await redis.eval("return ARGV[1]", [], ["42"])).toBe("42");
    expect(await redis.eval("return ARGV[1]", [], ['{"a":1}'])).toBe('{"a":1}');
  });

  it.each([
    ["return 42", 42],
    ["return -7", -7],
    ["return 3.9", 3],
    ["return nil", null],
    ["return false", null],
    ["return true", 1],
    ["return ''", ""],
    ["return redis.status_reply('OK')", "OK"],
    ["return {}", []],
    ["return {1, 'two', {3, 'four', {}}}", [1, "two", [3, "four", []]]],
    ["return {'', false, 'x'}", ["", null, "x"]],
    ["return {1, nil, 3}", [1]],
  ])("%s replies %j", async (source, expected) => {
    expect(await redis.eval(source, [], [])).toEqual(expected);
  });

  it.each([
    "héllo wörld",
    "日本語テキスト",
    "emoji 🎉 and a family 👩‍👩‍👧",
    "quotes \" ' and a \\ backslash",
    "a NUL \u0000 byte",
    "crlf \r\n and tab \t",
    "\u2028\u2029 line separators",
    "+OK\r\n$3\r\nfoo",
    "-ERR not an error",
    "OK",
    "T0s=",
    "null",
    "  ",
  ])("the string %j round-trips byte for byte", async (text) => {
    const key = `${prefix}text`;
    expect(await redis.eval(ECHO_THROUGH_KEY, [key], [text])).toBe(text);
    expect(await client.getBuffer(key)).toEqual(Buffer.from(text, "utf8"));
    expect(await redis.eval("return {ARGV[1], {ARGV[1]}}", [], [text])).toEqual([text, [text]]);
  });

  it("bytes that are not UTF-8 come back as U+FFFD, as on the other client", async () => {
    const key = `${prefix}bytes`;
    await client.set(key, Buffer.from([0x66, 0xff, 0xfe, 0x00, 0x67]));
    const expected = "f\uFFFD\uFFFD\u0000g";
    expect(await redis.eval("return redis.call('GET', KEYS[1])", [key], [])).toBe(expected);
    expect(await redis.eval("return {redis.call('GET', KEYS[1])}", [key], [])).toEqual([expected]);
  });

  it("NOSCRIPT becomes NoScriptError", async () => {
    const { err } = await failure(redis.evalsha("0123456789abcdef0123456789abcdef01234567", [], []));
    expect(err).toBeInstanceOf(NoScriptError);
    expect((err as NoScriptError).message).toMatch(/^NOSCRIPT/);
    expect((err as NoScriptError).retryable).toBe(false);
  });

  it.each([
    ["an error reply", "return redis.error_reply('ERR custom failure')", /^ERR custom failure$/],
    ["a script that does not compile", "return {", /^ERR Error compiling script/],
    [
      "a command on the wrong type",
      "redis.call('SET', KEYS[1], 's') return redis.call('LPUSH', KEYS[1], 'x')",
      /WRONGTYPE/,
    ],
  ])("%s becomes StoreCommandError with Redis's own message", async (_, source, message) => {
    const { err } = await failure(redis.eval(source, [`${prefix}wrong`], []));
    expect(err).toBeInstanceOf(StoreCommandError);
    expect(err).not.toBeInstanceOf(NoScriptError);
    expect((err as StoreCommandError).retryable).toBe(false);
    expect((err as Error).message).toMatch(message);
  });

  it("runScript falls back to EVAL once the server's script cache is flushed", async () => {
    const own_ = await subject.connect(own.url);
    const probe = script("conformance_probe", "return 'ran:' .. ARGV[1]");
    expect(await runScript(own_, probe, [], ["first"])).toBe("ran:first");
    await ownClient.script("FLUSH");
    await ownClient.config("RESETSTAT");
    expect(await runScript(own_, probe, [], ["second"])).toBe("ran:second");
    const stats = (await ownClient.info("commandstats")) as string;
    expect(stats).toMatch(/cmdstat_evalsha:calls=1,.*failed_calls=1/);
    expect(stats).toMatch(/cmdstat_eval:calls=1,.*failed_calls=0/);
  });

  it("ping resolves while Redis is up", async () => {
    await expect(redis.ping()).resolves.toBeUndefined();
  });

  it("a Redis that went away gives StoreUnavailableError at once", async () => {
    const doomed = await startLocalRedis();
    const port = await subject.connect(doomed.url);
    await port.ping();
    await doomed.stop();
    for (const call of [
      () => port.ping(),
      () => port.evalsha("0".repeat(40), [], []),
      () => port.eval("return 1", [], []),
    ]) {
      const { err, ms } = await failure(call());
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).retryable).toBe(true);
      expect((err as Error).message).toMatch(/^Redis is unavailable/);
      expect(ms).toBeLessThan(1000);
    }
  });

  it("a port where nothing listens gives StoreUnavailableError at once", async () => {
    const port = await subject.direct(await freePort());
    for (const call of [() => port.ping(), () => port.eval("return 1", [], [])]) {
      const { err, ms } = await failure(call());
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(ms).toBeLessThan(1000);
    }
  });

  it("a server that never answers gives StoreUnavailableError within the client's deadline", async () => {
    const silent = await silentServer();
    cleanups.push(silent.close);
    const port = await subject.direct(silent.port);
    const { err, ms } = await failure(port.ping());
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(ms).toBeLessThan(2500);
  });
});
