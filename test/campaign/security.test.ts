import { connect } from "node:net";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAgent, publishTarget, uniqueName } from "../support/fixtures.js";
import type { RunningIntake } from "../support/intake-runtime.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

/**
 * Abuse at the HTTP level that the shared intake suite (test/intake/intake-suite.ts: keys,
 * scopes, target names, sizes, nesting) does not reach because fetch will not send it: raw bytes
 * on a socket to the Node intake. Every attempt is refused and writes nothing: the stream length
 * and every key under the intake's prefix are unchanged.
 */

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Sends raw bytes and reads until the server closes (Connection: close) or 5 s pass. */
const raw = (baseUrl: string, bytes: string): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const url = new URL(baseUrl);
    const socket = connect(Number(url.port), url.hostname);
    let data = "";
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on("data", (d) => {
      data += d.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const [head = "", body = ""] = data.split("\r\n\r\n", 2);
      resolve({ status: Number(head.split(" ")[1] ?? 0), head, body });
    });
    socket.write(bytes, "latin1");
  });

describe("header and framing abuse at the Node intake", () => {
  let redis: Redis;
  let intake: RunningIntake;
  let key: string;
  let target: string;
  const prefix = freshPrefix();

  beforeAll(async () => {
    redis = testClient();
    target = uniqueName("sec");
    key = await addAgent(redis, prefix, {
      id: uniqueName("sec-agent"),
      targets: [target],
      actions: ["redeploy"],
    });
    await publishTarget(redis, prefix, target, ["redeploy"]);
    intake = await startNodeTestIntake({ redisUrl: redisUrl(), prefix });
  });
  afterAll(async () => {
    await intake?.stop();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  /** Every key under the prefix with its type and size: what "nothing written" compares. */
  const snapshot = async () => {
    const found = (await redis.keys(`${prefix}*`)).sort();
    const sizes = await Promise.all(
      found.map(async (name) => {
        const type = await redis.type(name);
        const n =
          type === "stream"
            ? await redis.xlen(name)
            : type === "hash"
              ? await redis.hlen(name)
              : type === "zset"
                ? await redis.zcard(name)
                : 0;
        return `${name} ${type} ${n}`;
      }),
    );
    return sizes;
  };

  const body = () =>
    JSON.stringify({
      target_agent: target,
      improvement_type: "security",
      description: "abuse",
      payload: { action: "redeploy" },
    });

  const post = (headerLines: string[], payload = body()) =>
    [
      "POST /v1/improvements HTTP/1.1",
      `Host: ${new URL(intake.baseUrl).host}`,
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(payload)}`,
      "Connection: close",
      ...headerLines,
      "",
      payload,
    ].join("\r\n");

  it("a control run: the same raw request with a good key is accepted (so the refusals below mean something)", async () => {
    const res = await raw(intake.baseUrl, post([`Authorization: Bearer ${key}`]));
    expect(res.status, res.head).toBe(202);
  });

  it("refuses duplicate Authorization headers, whatever their order", async () => {
    const before = await snapshot();
    for (const pair of [
      [`Bearer ${key}`, "Bearer garbage"],
      ["Bearer garbage", `Bearer ${key}`],
      [`Bearer ${key}`, `Bearer ${key}`],
    ]) {
      const res = await raw(intake.baseUrl, post(pair.map((v) => `Authorization: ${v}`)));
      expect(res.status, `${pair}: ${res.head}\n${res.body}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("refuses CR/LF smuggled into header values, obs-folding, and conflicting framing", async () => {
    const before = await snapshot();
    const attempts: Array<[string, string]> = [
      ["bare LF in a value", post([`Authorization: Bearer ${key}`, "Idempotency-Key: a\nX-Injected: 1"])],
      ["bare CR in a value", post([`Authorization: Bearer ${key}`, "Idempotency-Key: a\rX-Injected: 1"])],
      ["obs-fold", post([`Authorization: Bearer ${key}`, "Idempotency-Key: a\r\n X-Injected: 1"])],
      ["NUL in a value", post([`Authorization: Bearer ${key}\u0000`])],
      [
        "Content-Length and Transfer-Encoding",
        post([`Authorization: Bearer ${key}`, "Transfer-Encoding: chunked"]),
      ],
      ["two Content-Lengths", post([`Authorization: Bearer ${key}`, "Content-Length: 3"])],
      ["a 100 kB header", post([`Authorization: Bearer ${key}`, `X-Big: ${"a".repeat(100_000)}`])],
    ];
    for (const [what, bytes] of attempts) {
      const res = await raw(intake.baseUrl, bytes);
      expect(res.status, `${what}: ${res.head}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${what}: ${res.head}`).toBeLessThan(500);
      expect(res.head.toLowerCase(), what).not.toContain("x-injected");
    }
    expect(await snapshot()).toEqual(before);
  });

  it("never reflects a request header into the response headers", async () => {
    const res = await raw(
      intake.baseUrl,
      post([`Authorization: Bearer ${key}`, "Idempotency-Key: %0d%0aSet-Cookie:%20x=1"]),
    );
    expect(res.status).toBe(202);
    expect(res.head.toLowerCase()).not.toContain("set-cookie");
  });
});
