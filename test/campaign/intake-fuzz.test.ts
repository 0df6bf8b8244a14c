import fc from "fast-check";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../edge/app.js";
import { parseIntakeConfig } from "../../edge/config.js";
import { type Keys, keys } from "../../shared/keys.js";
import {
  ACTIONS,
  decodeStreamEntry,
  fieldsToRecord,
  IMPROVEMENT_TYPES,
  improvementSubmission,
} from "../../shared/protocol/index.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import { seed, size } from "../support/campaign.js";
import { addAgent, publishTarget, uniqueName } from "../support/fixtures.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

/**
 * Generated bodies, headers and paths at the intake: it never answers 5xx, never accepts an
 * invalid request, and every refusal is a problem+json. In process (app.request) for volume, then
 * a smaller run over real HTTP on Node.
 */

const PROBLEM = "application/problem+json";

interface Attempt {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const validBody = (target: string) =>
  fc.record(
    {
      target_agent: fc.constant(target),
      improvement_type: fc.constantFrom(...IMPROVEMENT_TYPES),
      description: fc.string({ minLength: 1, maxLength: 200, unit: "grapheme" }),
      payload: fc.oneof(
        fc.constant({ action: "restart" }),
        fc.record({ action: fc.constant("redeploy"), image: fc.constantFrom("app:v2", "reg.io:5000/a/b:1") }),
        fc.record({
          action: fc.constant("rebuild"),
          build_args: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), fc.string(), {
            maxKeys: 4,
          }),
        }),
        fc.record({ action: fc.constant("scale"), replicas: fc.integer({ min: 1, max: 32 }) }),
        fc.record({ action: fc.constant("update_config"), env: fc.constant({ LOG_LEVEL: "debug" }) }),
        fc.constant({ action: "rollback" }),
      ),
      priority: fc.constantFrom("low", "normal", "high"),
      metadata: fc.dictionary(fc.stringMatching(/^[a-z0-9_.-]{1,64}$/), fc.string({ maxLength: 256 }), {
        maxKeys: 16,
      }),
    },
    { requiredKeys: ["target_agent", "improvement_type", "description", "payload"] },
  );

/** A valid-ish body with one field replaced by anything, one removed, or one added. */
const mutated = (target: string) =>
  fc
    .tuple(
      validBody(target),
      fc.constantFrom(
        "target_agent",
        "improvement_type",
        "description",
        "payload",
        "agent_id",
        "callback_url",
        "priority",
        "metadata",
        "request_id",
        "privileged",
      ),
      fc.oneof(
        fc.anything(),
        fc.string({ unit: "binary" }),
        fc.constant(undefined),
        fc.constantFrom(
          { action: "scale", replicas: 0 },
          { action: "redeploy", image: "app:v2", binds: ["/:/host"] },
          { action: "format_disk" },
          "../etc",
          "ａpp",
          "svc\u0000",
          "x".repeat(5000),
        ),
      ),
    )
    .map(([body, field, value]) => JSON.stringify({ ...body, [field]: value }));

const nested = fc
  .tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom("[", '{"a":'))
  .map(([depth, open]) => `${open.repeat(depth)}1${(open === "[" ? "]" : "}").repeat(depth)}`);

const bodies = (target: string) =>
  fc.oneof(
    { weight: 4, arbitrary: validBody(target).map((b) => JSON.stringify(b)) },
    { weight: 4, arbitrary: mutated(target) },
    { weight: 2, arbitrary: fc.json() },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 300 }) },
    { weight: 1, arbitrary: nested },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 60_000, max: 200_000 })
        .map((n) => JSON.stringify({ target_agent: target, description: "é".repeat(n) })),
    },
    { weight: 1, arbitrary: fc.constant("") },
  );

/** Header values a client can send at all (a Headers object refuses CR, LF and NUL). */
const headerValue = fc.string({ maxLength: 80 }).map((s) => s.replace(/[\r\n\0]/g, "").trim());

const contentTypes = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/json;charset=latin1",
  "application/problem+json",
  "application/jsonx",
  "text/plain",
  "multipart/form-data; boundary=x",
  "",
);

const headers = (key: string) =>
  fc
    .record(
      {
        "content-type": fc.oneof(
          { weight: 8, arbitrary: fc.constant("application/json") },
          { weight: 2, arbitrary: contentTypes },
          { weight: 1, arbitrary: headerValue },
        ),
        authorization: fc.oneof(
          { weight: 6, arbitrary: fc.constant(`Bearer ${key}`) },
          { weight: 1, arbitrary: headerValue },
          { weight: 1, arbitrary: headerValue.map((v) => `Bearer ${v}`) },
          { weight: 1, arbitrary: fc.constant(`Bearer ${key.slice(0, -3)}xyz`) },
          { weight: 1, arbitrary: fc.constant(`Basic ${key}`) },
        ),
        "idempotency-key": headerValue,
      },
      { requiredKeys: ["content-type", "authorization"] },
    )
    .map(
      (h) =>
        Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>,
    );

const submissions = (target: string, key: string): fc.Arbitrary<Attempt> =>
  fc.record({
    method: fc.constant("POST"),
    path: fc.constant("/v1/improvements"),
    headers: headers(key),
    body: bodies(target),
  });

const paths = (key: string): fc.Arbitrary<Attempt> =>
  fc.record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
    path: fc.oneof(
      fc.webPath(),
      fc.string({ maxLength: 80 }).map((s) => `/v1/improvements/${encodeURIComponent(s)}`),
      fc.string({ maxLength: 40 }).map((s) => `/v1/${encodeURIComponent(s)}`),
      fc.constantFrom(
        "/v1/improvements/../../etc/passwd",
        "/v1/targets/%2e%2e",
        "//v1//improvements",
        "/%00",
      ),
    ),
    headers: fc.option(fc.constant({ authorization: `Bearer ${key}` }), { nil: {} }),
  });

const attempts = (target: string, key: string) =>
  fc.oneof({ weight: 4, arbitrary: submissions(target, key) }, { weight: 1, arbitrary: paths(key) });

interface Tally {
  total: number;
  accepted: number;
  byStatus: Map<number, number>;
}

/**
 * Sends one attempt and checks the answer: no 5xx; a 202 only for a body the shared schema
 * accepts, whose stream entry decodes; every refusal a problem+json.
 */
const check = async (
  send: (a: Attempt) => Promise<Response>,
  redis: Redis,
  k: Keys,
  a: Attempt,
  tally: Tally,
): Promise<void> => {
  const res = await send(a);
  const text = await res.text();
  tally.total++;
  tally.byStatus.set(res.status, (tally.byStatus.get(res.status) ?? 0) + 1);
  const what = `${a.method} ${a.path} ${res.status}: ${text.slice(0, 300)}`;
  expect(res.status, what).toBeLessThan(500);
  if (res.status === 202) {
    tally.accepted++;
    expect(improvementSubmission.safeParse(JSON.parse(a.body ?? "")).success, what).toBe(true);
    const { request_id } = JSON.parse(text) as { request_id: string };
    const entryId = await redis.hget(k.request(request_id), "entry_id");
    expect(entryId, what).toBeTruthy();
    const [entry] = await redis.xrange(k.requestStream, entryId as string, entryId as string);
    const decoded = decodeStreamEntry(entryId as string, fieldsToRecord(entry?.[1] ?? []));
    expect(decoded.ok, what).toBe(true);
  } else if (res.status >= 400) {
    expect(res.headers.get("content-type"), what).toContain(PROBLEM);
    const problem = JSON.parse(text) as Record<string, unknown>;
    expect(problem, what).toMatchObject({
      type: expect.any(String),
      title: expect.any(String),
      status: res.status,
      detail: expect.any(String),
    });
  }
};

describe("intake fuzzing", { timeout: 600_000 }, () => {
  let redis: Redis;
  let client: Redis;
  const prefix = freshPrefix();
  const k = keys(prefix);
  let target: string;
  let key: string;
  const config = parseIntakeConfig({ KEY_PREFIX: prefix, TARGET_BUDGET: "1000000/hour" });

  beforeAll(async () => {
    redis = testClient();
    client = testClient();
    target = uniqueName("fuzz");
    key = await addAgent(redis, prefix, {
      id: uniqueName("fuzzer"),
      targets: [target],
      actions: [...ACTIONS],
      rate: 1_000_000,
    });
    await publishTarget(redis, prefix, target, [...ACTIONS]);
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
    client.disconnect();
  });

  const report = (name: string, s: number, t: Tally) =>
    process.stdout.write(
      `${name}: seed ${s}, ${t.total} requests, ${t.accepted} accepted, statuses ${JSON.stringify(Object.fromEntries(t.byStatus))}\n`,
    );

  it("in process: generated submissions and paths, no 5xx, nothing invalid accepted, problem+json refusals", async () => {
    const app = createApp({
      redis: new IoredisAdapter(client),
      config,
      clock: Date.now,
      newId: () => crypto.randomUUID(),
      runtime: "node",
    });
    const send = (a: Attempt) =>
      Promise.resolve(
        app.request(`http://intake.test${a.path}`, { method: a.method, headers: a.headers, body: a.body }),
      );
    const tally: Tally = { total: 0, accepted: 0, byStatus: new Map() };
    const s = seed(20261125);
    await fc.assert(
      fc.asyncProperty(attempts(target, key), (a) => check(send, redis, k, a, tally)),
      { seed: s, numRuns: size(2500, 25_000) },
    );
    report("in process", s, tally);
    // The generators must reach both sides of the line, or the property proves little.
    expect(tally.accepted).toBeGreaterThan(50);
    expect(tally.byStatus.get(422) ?? 0).toBeGreaterThan(50);
  });

  it("over real HTTP on Node: the same property, fewer runs", async () => {
    const intake = await startNodeTestIntake({
      redisUrl: redisUrl(),
      prefix,
      vars: { TARGET_BUDGET: "1000000/hour" },
    });
    try {
      const send = (a: Attempt) =>
        fetch(`${intake.baseUrl.replace(/\/$/, "")}${a.path}`, {
          method: a.method,
          headers: a.headers,
          body: a.body,
        });
      const tally: Tally = { total: 0, accepted: 0, byStatus: new Map() };
      const s = seed(4242);
      await fc.assert(
        fc.asyncProperty(attempts(target, key), (a) => check(send, redis, k, a, tally)),
        { seed: s, numRuns: size(400, 4000) },
      );
      report("over HTTP", s, tally);
      expect(tally.accepted).toBeGreaterThan(5);
    } finally {
      await intake.stop();
    }
  });
});
