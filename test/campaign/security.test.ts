import { connect, type Socket } from "node:net";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { raw } from "../support/campaign.js";
import { addAgent, publishTarget, uniqueName } from "../support/fixtures.js";
import type { RunningIntake } from "../support/intake-runtime.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

/**
 * Abuse at the HTTP level that the shared intake suite (test/intake/intake-suite.ts: keys,
 * scopes, target names, sizes, nesting) does not reach because fetch will not send it: raw bytes
 * on a socket to the Node intake. Every attempt is refused and writes nothing: the stream length
 * and every key under the intake's prefix are unchanged. Then the findings of the outside
 * campaign (issue 12): a forged Host, `__proto__` names, a cross-site sign-in, and what one
 * client can make the intake hold (an unfinished request, a dropped connection, live feeds).
 */

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
    intake = await startNodeTestIntake({
      redisUrl: redisUrl(),
      prefix,
      // Short, so that a request held open is cut off within the test.
      vars: { HEADERS_TIMEOUT: "500ms", REQUEST_TIMEOUT: "1s" },
    });
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

  /** A submission whose body stops after a few bytes of the 1000 it announces. */
  const unfinishedPost = () =>
    post([`Authorization: Bearer ${key}`], '{"target_agent":').replace(
      /Content-Length: \d+/,
      "Content-Length: 1000",
    );

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

  it("never builds status_url from the Host header", async () => {
    const res = await raw(
      intake.baseUrl,
      post([`Authorization: Bearer ${key}`]).replace(/^Host: .*$/m, "Host: evil.example"),
    );
    expect(res.status, res.head).toBe(202);
    const { request_id, status_url } = JSON.parse(res.body) as { request_id: string; status_url: string };
    expect(status_url).toBe(`/v1/improvements/${request_id}`);
    expect(res.head + res.body).not.toContain("evil.example");
  });

  it("refuses __proto__ in build_args, env or metadata with a reason, writing nothing", async () => {
    const before = await snapshot();
    const fields = [
      '"payload":{"action":"redeploy"},"metadata":{"__proto__":"x"}',
      '"payload":{"action":"update_config","env":{"__proto__":{"A":"1"}}}',
      '"payload":{"action":"rebuild","build_args":{"__proto__":"x"}}',
    ];
    for (const f of fields) {
      const text = `{"target_agent":"${target}","improvement_type":"security","description":"proto",${f}}`;
      const res = await raw(intake.baseUrl, post([`Authorization: Bearer ${key}`], text));
      expect(res.status, `${f}: ${res.body}`).toBe(422);
      expect(res.body).toMatch(/__proto__.*prototype/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a cross-site sign-in to the dashboard (login CSRF) with 403 and no cookie", async () => {
    for (const header of ["Origin: http://evil.example", "Sec-Fetch-Site: cross-site"]) {
      const form = "key=hco1.mallory.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
      const res = await raw(
        intake.baseUrl,
        [
          "POST /dashboard/session HTTP/1.1",
          `Host: ${new URL(intake.baseUrl).host}`,
          "Content-Type: application/x-www-form-urlencoded",
          `Content-Length: ${form.length}`,
          "Connection: close",
          header,
          "",
          form,
        ].join("\r\n"),
      );
      expect(res.status, header).toBe(403);
      expect(res.head.toLowerCase()).not.toContain("set-cookie");
      expect(res.body).toContain("cross-site-request");
    }
  });

  it("closes a request whose body never finishes once REQUEST_TIMEOUT has passed, and one whose headers never finish after HEADERS_TIMEOUT", async () => {
    const slowBody = await raw(intake.baseUrl, unfinishedPost());
    expect(slowBody.status).toBe(408);
    expect(slowBody.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(slowBody.closedAfterMs).toBeLessThan(3_000);

    const slowHeaders = await raw(
      intake.baseUrl,
      `GET /healthz HTTP/1.1\r\nHost: ${new URL(intake.baseUrl).host}\r\nX-Slow: `,
    );
    expect(slowHeaders.status).toBe(408);
    expect(slowHeaders.closedAfterMs).toBeLessThan(2_000);
  });

  it("logs a client that disconnects mid-body as one line saying so, not as an unhandled error", async () => {
    const lines: string[] = [];
    const spies = (["error", "warn", "info", "log"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      }),
    );
    try {
      const socket: Socket = connect(Number(new URL(intake.baseUrl).port), "127.0.0.1");
      await new Promise((r) => socket.once("connect", r));
      socket.write(unfinishedPost());
      await new Promise((r) => setTimeout(r, 200));
      socket.destroy();
      await vi.waitFor(() => expect(lines.length).toBeGreaterThan(0), { timeout: 3_000 });
      await new Promise((r) => setTimeout(r, 300)); // anything else it would log
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: "info",
      msg: "client closed the connection mid-request",
      path: "/v1/improvements",
    });
    expect(lines[0]).not.toMatch(/unhandled|stack|\n\s+at /);
  });

  it("refuses an agent's 21st live feed with 429 and Retry-After (FEEDS_PER_AGENT, 20 by default); closing one frees its place", async () => {
    const accepted = await fetch(`${intake.baseUrl}/v1/improvements`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        target_agent: target,
        improvement_type: "security",
        description: "feeds",
        payload: { action: "redeploy" },
      }),
    });
    expect(accepted.status).toBe(202);
    const { request_id } = (await accepted.json()) as { request_id: string };
    const follow = (signal: AbortSignal) =>
      fetch(`${intake.baseUrl}/v1/improvements/${request_id}/events`, {
        headers: { authorization: `Bearer ${key}` },
        signal,
      });
    const controllers = Array.from({ length: 20 }, () => new AbortController());
    try {
      const feeds = await Promise.all(controllers.map((c) => follow(c.signal)));
      expect(feeds.map((f) => f.status)).toEqual(Array(20).fill(200));
      const extra = await follow(new AbortController().signal);
      expect(extra.status).toBe(429);
      expect(extra.headers.get("content-type")).toContain("application/problem+json");
      expect(Number(extra.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await extra.json()).toMatchObject({ type: "urn:hypercode:problem:too-many-feeds", status: 429 });

      controllers.pop()?.abort();
      await vi.waitFor(
        async () => {
          const again = new AbortController();
          const res = await follow(again.signal);
          if (res.status === 200) controllers.push(again);
          else await res.body?.cancel();
          expect(res.status).toBe(200);
        },
        { timeout: 5_000, interval: 200 },
      );
    } finally {
      for (const c of controllers) c.abort();
    }
  });
});
