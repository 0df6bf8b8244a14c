import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../shared/keys.js";
import {
  decodeStreamEntry,
  fieldsToRecord,
  statusRecord,
  webhookKeyRecord,
  webhookKeysSchema,
} from "../../shared/protocol/index.js";
import {
  generateWebhookKey,
  signWebhook,
  verifyWebhook,
  type WebhookSigningKey,
} from "../../shared/webhook.js";
import {
  addAgent,
  publishTarget,
  readSse,
  revokeAgent,
  transition,
  uniqueName,
} from "../support/fixtures.js";
import { authedGet, type IntakeHarness, jsonPost } from "../support/intake-harness.js";
import { expectDocumented } from "../support/openapi-check.js";
import { deletePrefix, freshPrefix, testClient } from "../support/redis.js";

const PROBLEM = "application/problem+json";

const expectProblem = async (res: Response, status: number, code?: string) => {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain(PROBLEM);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({
    status,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at /); // no stack traces
  if (code) expect(body.type).toBe(`urn:hypercode:problem:${code}`);
  return body;
};

const request = (target: string, extra: Record<string, unknown> = {}) => ({
  target_agent: target,
  improvement_type: "performance",
  description: "Optimizing build settings",
  payload: { action: "redeploy" },
  ...extra,
});

/**
 * The intake's behaviour over real HTTP, identical on every runtime: each runtime's test file
 * calls this with a function that starts its intake under a given key prefix.
 */
export const intakeSuite = (runtime: string, start: (prefix: string) => Promise<IntakeHarness>) => {
  describe(`intake on ${runtime}`, () => {
    let h: IntakeHarness;
    let redis: Redis;
    const prefix = freshPrefix();
    const k = keys(prefix);

    beforeAll(async () => {
      redis = testClient();
      h = await start(prefix);
    });
    afterAll(async () => {
      await h?.stop();
      await deletePrefix(redis, prefix);
      redis.disconnect();
    });

    /** A fresh agent and target pair, so tests sharing this intake do not see each other. */
    const setup = async (opts: { rate?: number; actions?: string[]; targetActions?: string[] } = {}) => {
      const agent = uniqueName("agent");
      const target = uniqueName("svc");
      const key = await addAgent(redis, prefix, {
        id: agent,
        targets: [target],
        actions: (opts.actions ?? ["redeploy", "restart", "rebuild"]) as never,
        rate: opts.rate ?? 1000,
      });
      await publishTarget(
        redis,
        prefix,
        target,
        (opts.targetActions ?? ["redeploy", "restart", "rebuild"]) as never,
      );
      return { agent, target, key };
    };
    const streamLength = () => redis.xlen(k.requestStream);

    it("answers /healthz and /readyz", async () => {
      const health = await fetch(new URL("/healthz", h.baseUrl));
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok", runtime: h.runtime });
      const ready = await fetch(new URL("/readyz", h.baseUrl));
      expect(ready.status).toBe(200);
    });

    it("accepts a valid request: 202, one stream entry in the agents' wire shape, a queued status", async () => {
      const { agent, target, key } = await setup();
      const before = await streamLength();
      const res = await jsonPost(
        h.baseUrl,
        "/v1/improvements",
        key,
        request(target, { improvement_type: "PERFORMANCE" }),
      );
      expect(res.status).toBe(202);
      const body = (await res.json()) as Record<string, string>;
      expect(body).toMatchObject({ status: "queued", request_id: expect.any(String) });
      // Relative: the Host header is the client's to choose, so it is never echoed as an address.
      expect(body.status_url).toBe(`/v1/improvements/${body.request_id}`);
      expect(res.headers.get("location")).toBe(`/v1/improvements/${body.request_id}`);
      expect(res.headers.get("ratelimit-limit")).toBe("1000");
      expect(res.headers.get("ratelimit-remaining")).toBe("999");

      expect(await streamLength()).toBe(before + 1);
      const [[id, fields]] = (await redis.xrevrange(k.requestStream, "+", "-", "COUNT", 1)) as [
        [string, string[]],
      ];
      expect(fields[0]).toBe("payload");
      const wire = JSON.parse(fields[1] as string);
      expect(wire).toMatchObject({
        agent_id: agent,
        target_agent: target,
        improvement_type: "performance",
        description: "Optimizing build settings",
        payload: { action: "redeploy" },
        request_id: body.request_id,
      });
      const decoded = decodeStreamEntry(id, fieldsToRecord(fields));
      expect(decoded.ok && decoded.request.request_id).toBe(body.request_id);
      expect(await redis.hget(k.request(body.request_id as string), "state")).toBe("queued");
    });

    it("shows an agent its own request with its timeline, and nobody else's", async () => {
      const a = await setup();
      const b = await setup();
      const res = await jsonPost(h.baseUrl, "/v1/improvements", a.key, request(a.target));
      const { request_id } = (await res.json()) as { request_id: string };

      const own = await authedGet(h.baseUrl, `/v1/improvements/${request_id}`, a.key);
      expect(own.status).toBe(200);
      const view = (await own.json()) as Record<string, unknown>;
      expect(view).toMatchObject({
        request_id,
        agent_id: a.agent,
        target_agent: a.target,
        action: "redeploy",
        status: "queued",
      });
      expect(view.timeline).toEqual([expect.objectContaining({ state: "queued" })]);
      expect(view.request).toMatchObject({ description: "Optimizing build settings" });

      await expectProblem(
        await authedGet(h.baseUrl, `/v1/improvements/${request_id}`, b.key),
        404,
        "not-found",
      );
      await expectProblem(
        await authedGet(h.baseUrl, "/v1/improvements/no-such-request", a.key),
        404,
        "not-found",
      );
      await expectProblem(
        await authedGet(h.baseUrl, "/v1/improvements/..%2F..%2Fetc", a.key),
        404,
        "not-found",
      );
      await expectProblem(
        await authedGet(h.baseUrl, `/v1/improvements/${request_id}`),
        401,
        "unauthenticated",
      );
    });

    it("replays the first answer for a repeated Idempotency-Key and writes nothing new", async () => {
      const { target, key } = await setup();
      const idem = { "idempotency-key": `retry-${uniqueName("k")}` };
      const first = await jsonPost(h.baseUrl, "/v1/improvements", key, request(target), idem);
      expect(first.status).toBe(202);
      const firstBody = await first.json();
      const length = await streamLength();
      const again = await jsonPost(h.baseUrl, "/v1/improvements", key, request(target), idem);
      expect(again.status).toBe(202);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(await again.json()).toEqual(firstBody);
      expect(await streamLength()).toBe(length);

      const changed = await jsonPost(
        h.baseUrl,
        "/v1/improvements",
        key,
        request(target, { description: "other" }),
        idem,
      );
      await expectProblem(changed, 422, "idempotency-key-reused");
      const bad = await jsonPost(h.baseUrl, "/v1/improvements", key, request(target), {
        "idempotency-key": "has space",
      });
      await expectProblem(bad, 400, "invalid-header");
      expect(await streamLength()).toBe(length);
    });

    /** What the original HyperCode system's agents send: its model's `model_dump_json()`. */
    const upstream = (agent: string, target: string, extra: Record<string, unknown> = {}) => ({
      id: crypto.randomUUID(),
      agent_id: agent,
      target_agent: target,
      improvement_type: "refactor",
      description: "Optimizing build settings",
      payload: { action: "redeploy" },
      priority: 4,
      files_changed: ["src/app.py", "requirements.txt"],
      test_results: { passed: 12, failed: 0, suites: { unit: { ok: true } } },
      status: "proposed",
      timestamp: "2026-12-01T23:34:55.317444",
      ...extra,
    });

    it("accepts the upstream envelope as its model writes it; its id is the request id", async () => {
      const { agent, target, key } = await setup();
      const body = upstream(agent, target);
      const res = await jsonPost(h.baseUrl, "/v1/improvements", key, body);
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ request_id: body.id, status: "queued" });
      expect(res.headers.get("location")).toBe(`/v1/improvements/${body.id}`);

      const [[entryId, fields]] = (await redis.xrevrange(k.requestStream, "+", "-", "COUNT", 1)) as [
        [string, string[]],
      ];
      const wire = JSON.parse(fields[1] as string);
      expect(wire).toMatchObject({
        request_id: body.id,
        priority: "high",
        files_changed: body.files_changed,
        test_results: body.test_results,
        timestamp: "2026-12-01T23:34:55.317444Z",
        improvement_type: "refactor",
      });
      expect(wire).not.toHaveProperty("id");
      expect(decodeStreamEntry(entryId, fieldsToRecord(fields)).ok).toBe(true);

      const stored = await redis.hgetall(k.request(body.id));
      const view = (await (await authedGet(h.baseUrl, `/v1/improvements/${body.id}`, key)).json()) as Record<
        string,
        unknown
      >;
      expect(view).toMatchObject({
        request_id: body.id,
        status: "queued",
        evolution_status: "proposed",
        request: { files_changed: body.files_changed, test_results: body.test_results, priority: "high" },
      });
      expect(view.result).not.toHaveProperty("fingerprint");
      // What submit.lua wrote is a status record as the shared schema has it, nothing more.
      expect(() => statusRecord.strict().parse(stored)).not.toThrow();
    });

    it("runs an id once: the same request again is replayed, anything else under it is a 409 that tells nothing", async () => {
      const a = await setup();
      const b = await setup();
      const body = upstream(a.agent, a.target);
      const first = await jsonPost(h.baseUrl, "/v1/improvements", a.key, body);
      expect(first.status).toBe(202);
      const firstBody = await first.json();
      const length = await streamLength();

      // The upstream agent retries with a fresh timestamp? No: model_dump_json of the same object.
      const again = await jsonPost(h.baseUrl, "/v1/improvements", a.key, body);
      expect(again.status).toBe(202);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(await again.json()).toEqual(firstBody);

      const changed = await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", a.key, {
          ...body,
          description: "Something else entirely",
        }),
        409,
        "request-id-reused",
      );
      // Another agent naming the same id hears exactly what the owner hears for a changed body:
      // nothing about whose it is, what it asked or how far it got.
      const other = await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", b.key, {
          ...body,
          agent_id: b.agent,
          target_agent: b.target,
        }),
        409,
        "request-id-reused",
      );
      expect(other).toEqual(changed);
      expect(JSON.stringify(other)).not.toContain(a.agent);
      expect(await streamLength()).toBe(length);
      expect(await redis.hget(k.request(body.id), "agent_id")).toBe(a.agent);
    });

    it("refuses bad upstream fields, each named with a reason, and writes nothing", async () => {
      const { agent, target, key } = await setup();
      const before = await streamLength();
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ id: "Not An Id!" }, "id", /request id.*uuid4/],
        [{ priority: 7 }, "priority", /1 \(low\) to 5/],
        [{ priority: 2.5 }, "priority", /whole number from 1 \(low\) to 5/],
        [{ priority: "urgent" }, "priority", /or low, normal or high/],
        [{ status: "completed" }, "status", /proposed/],
        [{ files_changed: ["ok.py", "bad\nname.py"] }, "files_changed.1", /control characters/],
        [{ files_changed: Array.from({ length: 257 }, (_, i) => `f${i}`) }, "files_changed", /at most 256/],
        [{ test_results: { a: "x".repeat(17 * 1024) } }, "test_results", /16384 bytes/],
        [{ test_results: JSON.parse(`${'{"a":'.repeat(10)}1${"}".repeat(10)}`) }, "test_results", /nests/],
        [{ timestamp: "yesterday" }, "timestamp", /ISO 8601/],
        [{ reviewer: "qa-agent" }, "reviewer", /unknown field/],
      ];
      for (const [extra, path, message] of cases) {
        const problem = await expectProblem(
          await jsonPost(h.baseUrl, "/v1/improvements", key, upstream(agent, target, extra)),
          422,
          "validation-failed",
        );
        const errors = problem.errors as Array<{ path: string; message: string }>;
        const hit = errors.find((e) => e.path === path);
        expect(hit, `${path}: ${JSON.stringify(errors)}`).toBeDefined();
        expect(hit?.message).toMatch(message);
      }
      expect(await streamLength()).toBe(before);
    });

    it("refuses NUL and line breaks in env values and build args, and control characters in a description; writes nothing", async () => {
      const actions = ["update_config", "rebuild", "restart"];
      const { target, key } = await setup({ actions, targetActions: actions });
      const before = await streamLength();
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [
          { payload: { action: "update_config", env: { LOG_LEVEL: "debug\u0000" } } },
          "payload.env.LOG_LEVEL",
          /NUL/,
        ],
        [
          { payload: { action: "update_config", env: { LOG_LEVEL: "debug\nLD_PRELOAD=/tmp/x.so" } } },
          "payload.env.LOG_LEVEL",
          /newline or carriage return.*KEY=VALUE/,
        ],
        [{ payload: { action: "update_config", env: { A: "x\r" } } }, "payload.env.A", /carriage return/],
        [
          { payload: { action: "rebuild", build_args: { VERSION: "1\u0000" } } },
          "payload.build_args.VERSION",
          /NUL/,
        ],
        [
          { payload: { action: "rebuild", build_args: { VERSION: "1\n2" } } },
          "payload.build_args.VERSION",
          /newline/,
        ],
        [
          { description: "restart\u001b]0;owned\u0007\u001b[2J", payload: { action: "restart" } },
          "description",
          /control characters other than tab and newline/,
        ],
      ];
      for (const [extra, path, message] of cases) {
        const problem = await expectProblem(
          await jsonPost(h.baseUrl, "/v1/improvements", key, request(target, extra)),
          422,
          "validation-failed",
        );
        const errors = problem.errors as Array<{ path: string; message: string }>;
        expect(errors, JSON.stringify(extra)).toEqual([{ path, message: expect.stringMatching(message) }]);
      }
      expect(await streamLength()).toBe(before);
      // Tab and newline lay a description out; they stay allowed.
      const ok = await jsonPost(
        h.baseUrl,
        "/v1/improvements",
        key,
        request(target, { description: "line one\n\tline two", payload: { action: "restart" } }),
      );
      expect(ok.status).toBe(202);
    });

    it("refuses missing, malformed, wrong, unknown and revoked keys with 401", async () => {
      const { agent, target, key } = await setup();
      const before = await streamLength();
      const noKey = await jsonPost(h.baseUrl, "/v1/improvements", undefined, request(target));
      await expectProblem(noKey, 401, "unauthenticated");
      expect(noKey.headers.get("www-authenticate")).toContain("Bearer");
      await expectProblem(
        await fetch(new URL("/v1/improvements", h.baseUrl), {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Basic abc" },
          body: JSON.stringify(request(target)),
        }),
        401,
      );
      const wrongSecret = `${key.slice(0, -4)}AAAA`;
      await expectProblem(await jsonPost(h.baseUrl, "/v1/improvements", wrongSecret, request(target)), 401);
      const unknownAgent = key.replace(agent, uniqueName("ghost"));
      await expectProblem(await jsonPost(h.baseUrl, "/v1/improvements", unknownAgent, request(target)), 401);
      // A bad key with a bad body is still 401: the schema is not revealed to strangers.
      await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", wrongSecret, { nonsense: true }),
        401,
      );

      await revokeAgent(redis, prefix, agent);
      const revoked = await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", key, request(target)),
        401,
      );
      expect(revoked.detail).toContain("revoked");
      expect(await streamLength()).toBe(before);
    });

    it("refuses targets and actions outside the key's scope, and agent_id spoofing, with 403", async () => {
      const { agent, target, key } = await setup({ actions: ["restart"] });
      const other = await setup();
      const before = await streamLength();
      await expectProblem(
        await jsonPost(
          h.baseUrl,
          "/v1/improvements",
          key,
          request(other.target, { payload: { action: "restart" } }),
        ),
        403,
        "target-out-of-scope",
      );
      await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", key, request(target)),
        403,
        "action-out-of-scope",
      );
      await expectProblem(
        await jsonPost(
          h.baseUrl,
          "/v1/improvements",
          key,
          request(target, { agent_id: other.agent, payload: { action: "restart" } }),
        ),
        403,
        "agent-mismatch",
      );
      const same = await jsonPost(
        h.baseUrl,
        "/v1/improvements",
        key,
        request(target, { agent_id: agent, payload: { action: "restart" } }),
      );
      expect(same.status).toBe(202);
      expect(await streamLength()).toBe(before + 1);
    });

    it("accepts a callback_url only under a prefix the agent's record allows", async () => {
      const agent = uniqueName("agent");
      const target = uniqueName("svc");
      const key = await addAgent(redis, prefix, {
        id: agent,
        targets: [target],
        actions: ["restart"],
        callbacks: ["https://hooks.example.com/agents"],
      });
      await publishTarget(redis, prefix, target, ["restart"]);
      const body = (callback_url: string) =>
        request(target, { payload: { action: "restart" }, callback_url });
      const ok = await jsonPost(
        h.baseUrl,
        "/v1/improvements",
        key,
        body("https://hooks.example.com/agents/done"),
      );
      expect(ok.status).toBe(202);
      const { request_id } = (await ok.json()) as { request_id: string };
      const stored = JSON.parse((await redis.hget(k.request(request_id), "request")) as string);
      expect(stored.callback_url).toBe("https://hooks.example.com/agents/done");
      const before = await streamLength();
      for (const bad of [
        "https://hooks.example.com.evil.io/agents/x",
        "https://hooks.example.com/other",
        "http://hooks.example.com/agents/x",
      ]) {
        await expectProblem(
          await jsonPost(h.baseUrl, "/v1/improvements", key, body(bad)),
          403,
          "callback-not-allowed",
        );
      }
      await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", key, body("ftp://x/")),
        422,
        "validation-failed",
      );
      expect(await streamLength()).toBe(before);
    });

    it("refuses targets no runner serves, and actions the target does not accept, with a clear 422", async () => {
      const { key, target } = await setup({ targetActions: ["restart"] });
      const agent = uniqueName("agent");
      const ghost = uniqueName("ghost");
      const anyKey = await addAgent(redis, prefix, { id: agent, targets: ["*"], actions: ["redeploy"] });
      const before = await streamLength();
      const unknown = await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", anyKey, request(ghost)),
        422,
        "target-not-enabled",
      );
      expect(unknown.detail).toContain(ghost);
      await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", key, request(target)),
        422,
        "action-not-enabled",
      );
      const stale = uniqueName("stale");
      await publishTarget(redis, prefix, stale, ["redeploy"], { expires_at: Date.now() - 1000 });
      const expired = await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", anyKey, request(stale)),
        422,
        "target-not-enabled",
      );
      expect(expired.detail).toContain("stopped reporting");
      expect(await streamLength()).toBe(before);
    });

    it("answers bad input with the right problem and writes nothing", async () => {
      const { key, target } = await setup();
      const before = await streamLength();
      const post = (body: string, headers: Record<string, string>) =>
        fetch(new URL("/v1/improvements", h.baseUrl), {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, ...headers },
          body,
        });
      await expectProblem(
        await post(JSON.stringify(request(target)), { "content-type": "text/plain" }),
        415,
        "unsupported-media-type",
      );
      await expectProblem(await post(JSON.stringify(request(target)), {}), 415);
      await expectProblem(
        await post("{not json", { "content-type": "application/json" }),
        400,
        "malformed-json",
      );
      await expectProblem(await post("", { "content-type": "application/json" }), 400, "malformed-json");
      const huge = JSON.stringify(request(target, { description: "x".repeat(70_000) }));
      await expectProblem(await post(huge, { "content-type": "application/json" }), 413, "payload-too-large");
      const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
      const deepRes = await post(deep, { "content-type": "application/json" });
      expect([400, 413, 422]).toContain(deepRes.status);
      await expectProblem(deepRes, deepRes.status);

      const invalid = await expectProblem(
        await jsonPost(h.baseUrl, "/v1/improvements", key, {
          target_agent: "../etc",
          improvement_type: "sabotage",
          description: "",
          payload: { action: "format_disk" },
          extra: 1,
        }),
        422,
        "validation-failed",
      );
      const paths = (invalid.errors as Array<{ path: string }>).map((e) => e.path).sort();
      expect(paths).toEqual(
        expect.arrayContaining([
          "target_agent",
          "improvement_type",
          "description",
          "payload.action",
          "extra",
        ]),
      );
      for (const name of ["a/b", "a..b", "ａpp", "svc\u0000", "svc\n", " svc", "Svc", "x".repeat(64)]) {
        await expectProblem(
          await jsonPost(h.baseUrl, "/v1/improvements", key, request(name)),
          422,
          "validation-failed",
        );
      }
      await expectProblem(
        await jsonPost(
          h.baseUrl,
          "/v1/improvements",
          key,
          request(target, { payload: { action: "redeploy", privileged: true } }),
        ),
        422,
      );
      expect(await streamLength()).toBe(before);
    });

    it("reads a chunked body (no Content-Length) and refuses one that grows past the limit", async () => {
      const { key, target } = await setup();
      const chunked = (parts: string[]) =>
        fetch(new URL("/v1/improvements", h.baseUrl), {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: new ReadableStream({
            start(controller) {
              for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
              controller.close();
            },
          }),
          duplex: "half",
        } as RequestInit);
      const json = JSON.stringify(request(target));
      const before = await streamLength();
      const ok = await chunked([json.slice(0, 20), json.slice(20)]);
      expect(ok.status).toBe(202);
      await expectProblem(await chunked(['{"target_agent":', "oops"]), 400, "malformed-json");
      const big = JSON.stringify(request(target, { description: "y".repeat(3000) }));
      await expectProblem(await chunked(Array.from({ length: 30 }, () => big)), 413, "payload-too-large");
      // The connection and the runtime are fine afterwards.
      expect((await chunked([json])).status).toBe(202);
      expect(await streamLength()).toBe(before + 2);
    });

    it("answers unknown routes with 404 and wrong methods with 405 and Allow", async () => {
      await expectProblem(await fetch(new URL("/nope", h.baseUrl)), 404, "not-found");
      const wrong = await fetch(new URL("/v1/improvements", h.baseUrl), { method: "GET" });
      await expectProblem(wrong, 405, "method-not-allowed");
      expect(wrong.headers.get("allow")).toBe("POST");
      const del = await fetch(new URL("/v1/targets", h.baseUrl), { method: "DELETE" });
      await expectProblem(del, 405);
      expect(del.headers.get("allow")).toContain("GET");
    });

    it("rate-limits an agent: 429 with Retry-After and RateLimit headers, refused requests cost nothing", async () => {
      const { target, key } = await setup({ rate: 2 });
      const before = await streamLength();
      expect((await jsonPost(h.baseUrl, "/v1/improvements", key, request(target))).status).toBe(202);
      const second = await jsonPost(h.baseUrl, "/v1/improvements", key, request(target));
      expect(second.headers.get("ratelimit-remaining")).toBe("0");
      const limited = await jsonPost(h.baseUrl, "/v1/improvements", key, request(target));
      await expectProblem(limited, 429, "rate-limited");
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
      expect(limited.headers.get("ratelimit-limit")).toBe("2");
      expect(limited.headers.get("ratelimit-remaining")).toBe("0");
      expect(await streamLength()).toBe(before + 2);
    });

    it("enforces a target's change budget across agents", async () => {
      const target = uniqueName("svc");
      await publishTarget(redis, prefix, target, ["restart"], { budget: { limit: 2, window_ms: 3_600_000 } });
      const keysFor = await Promise.all(
        [0, 1, 2].map((i) =>
          addAgent(redis, prefix, { id: uniqueName(`a${i}`), targets: [target], actions: ["restart"] }),
        ),
      );
      const body = request(target, { payload: { action: "restart" } });
      const statuses = [];
      for (const key of keysFor)
        statuses.push((await jsonPost(h.baseUrl, "/v1/improvements", key, body)).status);
      expect(statuses).toEqual([202, 202, 429]);
      const refused = await jsonPost(h.baseUrl, "/v1/improvements", keysFor[0] as string, body);
      await expectProblem(refused, 429, "change-budget-exhausted");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3000);
    });

    it("accepts exactly the rate limit out of many parallel submissions", async () => {
      const { target, key } = await setup({ rate: 7 });
      const before = await streamLength();
      const results = await Promise.all(
        Array.from({ length: 40 }, () => jsonPost(h.baseUrl, "/v1/improvements", key, request(target))),
      );
      const statuses = results.map((r) => r.status);
      await Promise.all(results.map((r) => r.arrayBuffer()));
      expect(statuses.filter((s) => s === 202)).toHaveLength(7);
      expect(statuses.filter((s) => s === 429)).toHaveLength(33);
      expect(await streamLength()).toBe(before + 7);
    });

    it("lists the targets and actions this agent may request", async () => {
      const { target, key } = await setup({
        actions: ["restart", "rebuild"],
        targetActions: ["restart", "redeploy", "rebuild"],
      });
      const res = await authedGet(h.baseUrl, "/v1/targets", key);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { targets: Array<{ target: string; actions: string[] }> };
      expect(body.targets).toEqual([expect.objectContaining({ target, actions: ["restart", "rebuild"] })]);
      await expectProblem(await authedGet(h.baseUrl, "/v1/targets"), 401);
    });

    it("streams every status transition as Server-Sent Events until the request ends", async () => {
      const { target, key } = await setup();
      const res = await jsonPost(h.baseUrl, "/v1/improvements", key, request(target));
      const { request_id } = (await res.json()) as { request_id: string };

      const feed = await authedGet(h.baseUrl, `/v1/improvements/${request_id}/events`, key);
      expect(feed.status).toBe(200);
      expect(feed.headers.get("content-type")).toContain("text/event-stream");
      const events = readSse(feed);
      // The runner moves the request on while the client listens.
      await transition(redis, prefix, request_id, "running");
      await transition(redis, prefix, request_id, "deploying", "replica 1 of 2");
      await transition(redis, prefix, request_id, "succeeded", "2 replicas at r2");
      const got = await events;
      expect(got.map((e) => [e.event, e.data?.status])).toEqual([
        ["status", "queued"],
        ["status", "running"],
        ["status", "deploying"],
        ["status", "succeeded"],
        ["end", "succeeded"],
      ]);
      expect(got[2]?.data?.detail).toBe("replica 1 of 2");

      // Reconnecting with Last-Event-ID resumes after that event.
      const resumed = await fetch(new URL(`/v1/improvements/${request_id}/events`, h.baseUrl), {
        headers: { authorization: `Bearer ${key}`, "last-event-id": got[1]?.id as string },
      });
      expect((await readSse(resumed)).map((e) => e.data?.status)).toEqual([
        "deploying",
        "succeeded",
        "succeeded",
      ]);

      const other = await setup();
      await expectProblem(
        await authedGet(h.baseUrl, `/v1/improvements/${request_id}/events`, other.key),
        404,
      );
      await expectProblem(await authedGet(h.baseUrl, `/v1/improvements/${request_id}/events`), 401);
    });

    it("answers as its OpenAPI description says, for every documented status", async () => {
      const doc = await (await fetch(new URL("/openapi.json", h.baseUrl))).json();
      expect(doc.openapi).toBe("3.1.0");
      const { target, key } = await setup({ rate: 1 });
      const other = await setup();
      const check = async (
        method: string,
        path: string,
        init: RequestInit = {},
        auth: string | undefined = key,
      ) => {
        const headers = new Headers(init.headers);
        if (auth) headers.set("authorization", `Bearer ${auth}`);
        const res = await fetch(new URL(path, h.baseUrl), { ...init, method, headers });
        await expectDocumented(doc, method, path, res);
        return res.status;
      };
      const post = (b: unknown, extra: Record<string, string> = {}) => ({
        body: typeof b === "string" ? b : JSON.stringify(b),
        headers: { "content-type": "application/json", ...extra },
      });
      const seen = [
        await check("POST", "/v1/improvements", post(request(target))),
        await check("POST", "/v1/improvements", post(request(target))),
        await check("POST", "/v1/improvements", post("{")),
        await check("POST", "/v1/improvements", post(request(target), { "idempotency-key": "a b" })),
        await check(
          "POST",
          "/v1/improvements",
          post(request(target)),
          "hc1.nobody.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        await check("POST", "/v1/improvements", post(request(other.target))),
        await check("POST", "/v1/improvements", post(request(target, { description: "x".repeat(70_000) }))),
        await check("POST", "/v1/improvements", { body: "x", headers: { "content-type": "text/plain" } }),
        await check("POST", "/v1/improvements", post({ target_agent: "../x" })),
        await check("GET", "/v1/improvements"),
        await check("GET", "/v1/improvements/none"),
        await check("GET", "/v1/targets"),
        await check("GET", "/healthz", {}, undefined),
        await check("GET", "/readyz", {}, undefined),
      ];
      expect(seen).toEqual([202, 429, 400, 400, 401, 403, 413, 415, 422, 405, 404, 200, 200, 200]);
      const { request_id } = (await (
        await jsonPost(h.baseUrl, "/v1/improvements", other.key, request(other.target))
      ).json()) as {
        request_id: string;
      };
      expect(await check("GET", `/v1/improvements/${request_id}`, {}, other.key)).toBe(200);
    });

    it("documents what the intake checks: header patterns, the replay header, component ids JSON Schema allows", async () => {
      const doc = await (await fetch(new URL("/openapi.json", h.baseUrl))).json();
      const post = doc.paths["/v1/improvements"].post;
      const idem = post.parameters.find((p: { name: string }) => p.name === "Idempotency-Key");
      expect(new RegExp(idem.schema.pattern).test("a b")).toBe(false);
      expect(new RegExp(idem.schema.pattern).test("retry-1:x")).toBe(true);
      expect(post.responses["202"].headers["Idempotent-Replayed"]).toMatchObject({
        schema: { const: "true" },
      });
      for (const [name, schema] of Object.entries(
        doc.components.schemas as Record<string, { $id?: string }>,
      )) {
        // 2020-12: an $id is a URI without a fragment; components are named by their place instead.
        expect(schema.$id === undefined || !schema.$id.includes("#"), name).toBe(true);
      }
      const submission = doc.components.schemas.ImprovementSubmission;
      expect(submission.properties.callback_url.pattern).toBeTypeOf("string");
      expect(JSON.stringify(submission.properties.description)).toContain("pattern");
      const env = submission.properties.payload.oneOf.find(
        (o: { properties: { action: { const: string } } }) => o.properties.action.const === "update_config",
      ).properties.env;
      expect(env).toMatchObject({ minProperties: 1, maxProperties: 32 });
    });

    it("serves the webhook public keys without a key, live ones only, and a webhook verifies with them", async () => {
      const doc = await (await fetch(new URL("/openapi.json", h.baseUrl))).json();
      const live = await generateWebhookKey();
      const expired = await generateWebhookKey();
      const record = (key: WebhookSigningKey, expiresAt: number) =>
        JSON.stringify(
          webhookKeyRecord.parse({
            kid: key.kid,
            public_key: key.publicKey,
            runner_id: "runner-x",
            seen_at: new Date().toISOString(),
            expires_at: expiresAt,
          }),
        );
      await redis.hset(
        k.webhookKeys,
        live.kid,
        record(live, Date.now() + 600_000),
        expired.kid,
        record(expired, Date.now() - 1000),
        "junk",
        "{not json",
      );
      const res = await fetch(new URL("/v1/webhook-keys", h.baseUrl));
      await expectDocumented(doc, "GET", "/v1/webhook-keys", res.clone());
      expect(res.status).toBe(200);
      const body = webhookKeysSchema.parse(await res.json());
      expect(body.keys).toEqual([
        expect.objectContaining({ kty: "OKP", crv: "Ed25519", kid: live.kid, x: live.publicKey }),
      ]);
      expect(JSON.stringify(body)).not.toContain("runner-x");
      const t = Math.floor(Date.now() / 1000);
      expect(await verifyWebhook(body, await signWebhook(live, t, "{}"), "{}", t)).toBe(true);
      expect(await verifyWebhook(body, await signWebhook(expired, t, "{}"), "{}", t)).toBe(false);
      // A receiver can take a key straight into WebCrypto as a JWK.
      const { expires_at: _, ...jwk } = body.keys[0] as (typeof body.keys)[number];
      await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["verify"]);
    });

    it("serves the JSON Schema of a submission", async () => {
      const res = await fetch(new URL("/v1/schema/improvement-request.json", h.baseUrl));
      expect(res.status).toBe(200);
      const schema = (await res.json()) as { properties: Record<string, unknown>; required: string[] };
      expect(Object.keys(schema.properties)).toEqual(
        expect.arrayContaining(["target_agent", "improvement_type", "description", "payload"]),
      );
      expect(schema.required).toEqual(expect.arrayContaining(["target_agent", "payload"]));
    });
  });
};
