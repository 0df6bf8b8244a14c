import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, type RestBridge, startRestBridge } from "../../bridge/rest-bridge.js";
import { type LocalRedis, startLocalRedis } from "../../cli/local-redis.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

/** The Upstash REST protocol as the bridge speaks it, over raw HTTP (no client library). */

const TOKEN = "bridge-test-token";

interface Answer {
  result?: unknown;
  error?: string;
}

const call = async (
  base: string,
  path: string,
  body: unknown,
  { token = TOKEN, headers = {} }: { token?: string | null; headers?: Record<string, string> } = {},
) => {
  const res = await fetch(new URL(path, base), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  // `{result}` / `{error}` from POST /, an array of them from /pipeline and /multi-exec.
  return { status: res.status, body: (await res.json()) as Answer & Record<number, Answer> };
};

const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");

describe("REST bridge", () => {
  const client = testClient();
  const prefix = freshPrefix();
  const k = (name: string) => `${prefix}${name}`;
  let bridge: RestBridge;
  const post = (path: string, body: unknown, opts?: Parameters<typeof call>[3]) =>
    call(bridge.url, path, body, opts);

  beforeAll(async () => {
    bridge = await startRestBridge({ redisUrl: redisUrl(), token: TOKEN });
  });
  afterAll(async () => {
    await bridge.close();
    await deletePrefix(client, prefix);
    client.disconnect();
  });

  describe("authentication", () => {
    it.each([
      ["no Authorization header", null, {}],
      ["a wrong token", "bridge-test-tokem", {}],
      ["a longer token", `${TOKEN}x`, {}],
      ["another scheme", null, { authorization: `Basic ${TOKEN}` }],
    ])("refuses %s with 401 and writes nothing", async (_, token, headers) => {
      const res = await post("/", ["SET", k("auth"), "x"], { token, headers });
      expect(res).toEqual({ status: 401, body: { error: "Unauthorized" } });
      expect(await client.exists(k("auth"))).toBe(0);
    });

    it("refuses before it routes: an unknown path without a token is 401, with one 404", async () => {
      expect((await post("/nowhere", [], { token: null })).status).toBe(401);
      const res = await post("/nowhere", []);
      expect(res.status).toBe(404);
      expect(res.body.error).toMatch(/POST \/, \/pipeline or \/multi-exec/);
    });

    it("will not start without a token", async () => {
      await expect(startRestBridge({ redisUrl: redisUrl(), token: "" })).rejects.toThrow(/non-empty token/);
    });
  });

  describe("POST /", () => {
    it("runs one command and answers {result}", async () => {
      expect(await post("/", ["SET", k("one"), "v1"])).toEqual({ status: 200, body: { result: "OK" } });
      expect(await post("/", ["get", k("one")])).toEqual({ status: 200, body: { result: "v1" } });
      expect(await post("/", ["INCRBY", k("n"), 5])).toEqual({ status: 200, body: { result: 5 } });
      expect(await post("/", ["GET", k("missing")])).toEqual({ status: 200, body: { result: null } });
    });

    it("passes numbers and booleans to Redis as text", async () => {
      await post("/", ["RPUSH", k("mixed"), 1.5, true, "s"]);
      expect(await client.lrange(k("mixed"), 0, -1)).toEqual(["1.5", "true", "s"]);
    });

    it("answers a Redis error reply with 400 and Redis's text", async () => {
      await client.set(k("str"), "s");
      expect(await post("/", ["LPUSH", k("str"), "x"])).toEqual({
        status: 400,
        body: { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
      });
      const noscript = await post("/", ["EVALSHA", "0123456789abcdef0123456789abcdef01234567", 0]);
      expect(noscript).toEqual({
        status: 400,
        body: { error: "NOSCRIPT No matching script. Please use EVAL." },
      });
    });
  });

  describe("Upstash-Encoding: base64", () => {
    const base64 = { headers: { "Upstash-Encoding": "base64" } };

    it("encodes every string, nested ones too, and leaves numbers and nil alone", async () => {
      const res = await post(
        "/",
        ["EVAL", "return {ARGV[1], 7, {ARGV[2], {}}, false, 'OK'}", 0, "héllo 🎉", "\u0000\r\n"],
        base64,
      );
      expect(res).toEqual({
        status: 200,
        body: { result: [b64("héllo 🎉"), 7, [b64("\u0000\r\n"), []], null, b64("OK")] },
      });
      expect((await post("/", ["SET", k("b64"), "v"], base64)).body).toEqual({ result: b64("OK") });
      expect((await post("/", ["GET", k("nothing")], base64)).body).toEqual({ result: null });
      expect((await post("/", ["INCR", k("b64n")], base64)).body).toEqual({ result: 1 });
    });

    it("is binary-safe: bytes that are not UTF-8 arrive intact", async () => {
      const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41, 0xc3]);
      await client.set(k("bin"), bytes);
      expect((await post("/", ["GET", k("bin")], base64)).body).toEqual({ result: bytes.toString("base64") });
      const piped = await post(
        "/pipeline",
        [
          ["GET", k("bin")],
          ["LRANGE", k("nolist"), 0, -1],
        ],
        base64,
      );
      expect(piped.body).toEqual([{ result: bytes.toString("base64") }, { result: [] }]);
    });

    it("without the header, strings are plain text", async () => {
      await client.set(k("plain"), "plain text");
      expect((await post("/", ["GET", k("plain")])).body).toEqual({ result: "plain text" });
    });
  });

  describe("POST /pipeline", () => {
    it("runs every command in order; an error stays with its command and the rest still run", async () => {
      const res = await post("/pipeline", [
        ["SET", k("p"), "1"],
        ["NOSUCHCOMMAND"],
        ["INCR", k("p")],
        ["GET", k("p")],
      ]);
      expect(res.status).toBe(200);
      expect(res.body).toEqual([
        { result: "OK" },
        { error: expect.stringMatching(/^ERR unknown command 'NOSUCHCOMMAND'/) },
        { result: 2 },
        { result: "2" },
      ]);
    });
  });

  describe("POST /multi-exec", () => {
    it("runs the commands as one transaction", async () => {
      const res = await post("/multi-exec", [
        ["SET", k("m"), "10"],
        ["INCRBY", k("m"), 5],
        ["GET", k("m")],
      ]);
      expect(res).toEqual({ status: 200, body: [{ result: "OK" }, { result: 15 }, { result: "15" }] });
    });

    it("is all or nothing: a command Redis refuses to queue aborts the whole transaction", async () => {
      const commands = [["SET", k("atomic"), "written"], ["NOSUCHCOMMAND"]];
      const res = await post("/multi-exec", commands);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/^EXECABORT .*unknown command 'NOSUCHCOMMAND'/);
      expect(await client.exists(k("atomic"))).toBe(0);
      // The same commands as a pipeline are not atomic: the SET goes through.
      await post("/pipeline", commands);
      expect(await client.get(k("atomic"))).toBe("written");
    });

    it("reports a runtime error per command, as Redis's EXEC does", async () => {
      await client.set(k("mstr"), "s");
      const res = await post("/multi-exec", [
        ["INCR", k("mstr")],
        ["SET", k("mafter"), "yes"],
      ]);
      expect(res.body).toEqual([{ error: "ERR value is not an integer or out of range" }, { result: "OK" }]);
    });

    it("no other request's command lands inside a transaction", async () => {
      const list = k("isolated");
      const transactions = Array.from({ length: 20 }, (_, i) =>
        post("/multi-exec", [
          ["DEL", list],
          ["RPUSH", list, `a${i}`],
          ["RPUSH", list, `b${i}`],
          ["LRANGE", list, 0, -1],
        ]),
      );
      const results = await Promise.all(transactions);
      results.forEach((res, i) => {
        expect(res.body[3]).toEqual({ result: [`a${i}`, `b${i}`] });
      });
    });
  });

  describe("malformed requests", () => {
    it.each([
      ["/", "{not json", /not valid JSON/],
      ["/", { cmd: "GET" }, /non-empty JSON array/],
      ["/", [], /non-empty JSON array/],
      ["/", ["GET", { k: 1 }], /element 1 of the body is object/],
      ["/", ["GET", null], /element 1 of the body is null/],
      ["/pipeline", [], /non-empty JSON array of commands/],
      ["/pipeline", [["PING"], "PING"], /command 1 must be a non-empty JSON array/],
      ["/multi-exec", [["PING"], [["nested"]]], /element 0 of command 1 is an array/],
    ])("%s %j → 400", async (path, body, message) => {
      const res = await post(path, body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(message);
    });

    it("refuses a body over 1 MiB with 413", async () => {
      const res = await post("/", ["SET", k("big"), "x".repeat(MAX_BODY_BYTES)]);
      expect(res.status).toBe(413);
      expect(res.body.error).toMatch(/larger than 1048576 bytes/);
      expect(await client.exists(k("big"))).toBe(0);
    });

    it.each([
      ["SELECT", 1],
      ["SUBSCRIBE", "ch"],
      ["MULTI"],
      ["BLPOP", "l", 0],
      ["XREAD", "BLOCK", 0, "STREAMS", "s", "$"],
    ])("refuses %s, which would change or block the shared connection", async (...command) => {
      const res = await post("/", command);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/does not run/);
      // The connection is untouched: still database 0, still answering.
      await client.set(k("db0"), "here");
      expect((await post("/", ["GET", k("db0")])).body).toEqual({ result: "here" });
    });
  });
});

describe("REST bridge when Redis is down", () => {
  let redis: LocalRedis;
  let bridge: RestBridge;

  beforeAll(async () => {
    redis = await startLocalRedis();
    bridge = await startRestBridge({ redisUrl: redis.url, token: TOKEN });
  });
  afterAll(async () => {
    await bridge.close();
    await redis.stop();
  });

  it("answers 503 with the reason at once, and recovers when Redis returns", async () => {
    expect((await call(bridge.url, "/", ["PING"])).body).toEqual({ result: "PONG" });
    await redis.stop();

    for (const [path, body] of [
      ["/", ["PING"]],
      ["/pipeline", [["PING"]]],
      ["/multi-exec", [["PING"]]],
    ] as const) {
      const t0 = performance.now();
      const res = await call(bridge.url, path, body);
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(res.status).toBe(503);
      expect(res.body.error).toMatch(
        /^Redis is unavailable: (connect ECONNREFUSED|the connection to Redis closed)/,
      );
    }

    redis = await startLocalRedis({ port: redis.port });
    const deadline = Date.now() + 5000;
    let res = await call(bridge.url, "/", ["PING"]);
    while (res.status !== 200 && Date.now() < deadline) {
      await sleep(100);
      res = await call(bridge.url, "/", ["PING"]);
    }
    expect(res.body).toEqual({ result: "PONG" });
  });

  it("close() ends it even with a keep-alive connection open", async () => {
    const other = await startRestBridge({ redisUrl: redis.url, token: TOKEN });
    expect((await call(other.url, "/", ["PING"])).status).toBe(200);
    const t0 = performance.now();
    await other.close();
    expect(performance.now() - t0).toBeLessThan(1500);
    await expect(fetch(other.url, { method: "POST" })).rejects.toThrow();
  });
});
