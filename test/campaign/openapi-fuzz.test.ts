import fc from "fast-check";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../edge/app.js";
import { parseIntakeConfig } from "../../edge/config.js";
import { openApiDocument } from "../../edge/openapi/document.js";
import { keys } from "../../shared/keys.js";
import { ACTIONS, improvementSubmission } from "../../shared/protocol/index.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import { seed, size } from "../support/campaign.js";
import { addAgent, publishTarget, uniqueName } from "../support/fixtures.js";
import { deletePrefix, freshPrefix, testClient } from "../support/redis.js";

/**
 * Bodies generated from the OpenAPI document alone (its JSON Schema of ImprovementSubmission and
 * the Idempotency-Key parameter), not from the zod schemas: every one the document calls valid
 * must be accepted. Only what the document lists as cross-field refusals is set up, not
 * generated: the target is the agent's and published with every action, agent_id is the key's,
 * an id is fresh, callback_url is under the agent's prefix, an Idempotency-Key is not reused.
 */

type Schema = Record<string, unknown> & {
  type?: string;
  pattern?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  propertyNames?: Schema;
  items?: Schema;
};

// fast-check cannot generate lookaheads: generate without them, then keep what the full pattern matches.
const withoutLookaheads = (pattern: string) => pattern.replace(/\(\?[!=][^()]*\)/g, "");
const MAX_GENERATED = 300;

const stringFrom = (s: Schema): fc.Arbitrary<string> => {
  const patterns = [s.pattern, ...(s.allOf ?? []).map((p) => p.pattern)].filter(
    (p): p is string => typeof p === "string",
  );
  const anchored = patterns.find((p) => p.startsWith("^") && p.endsWith("$"));
  const min = Number(s.minLength ?? 0);
  const max = Number(s.maxLength ?? Number.POSITIVE_INFINITY);
  const base = anchored
    ? fc.stringMatching(new RegExp(withoutLookaheads(anchored)))
    : fc.string({ unit: "grapheme", maxLength: Math.min(max, MAX_GENERATED) });
  // Lengths in UTF-16 units, as zod counts them. JSON Schema counts code points, so a string of
  // astral characters (emoji) near a maxLength is one place the two still differ: not generated.
  return base.filter(
    (v) => v.length >= min && v.length <= max && patterns.every((p) => new RegExp(p).test(v)),
  );
};

const fromSchema = (s: Schema): fc.Arbitrary<unknown> => {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alternatives = s.oneOf ?? s.anyOf;
  if (alternatives) return fc.oneof(...alternatives.map(fromSchema));
  switch (s.type) {
    case "string":
      return stringFrom(s);
    case "integer":
      return fc.integer({ min: Number(s.minimum ?? -1e9), max: Number(s.maximum ?? 1e9) });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(fromSchema(s.items ?? {}), { maxLength: Math.min(Number(s.maxItems ?? 8), 8) });
    case "object":
      return objectFrom(s);
    default:
      // `{}`: any JSON value (test_results' values); kept shallow, its size and depth are bounded in words.
      return fc.jsonValue({ maxDepth: 2 });
  }
};

const objectFrom = (s: Schema): fc.Arbitrary<unknown> => {
  if (s.properties) {
    const props = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, fromSchema(v)]));
    return fc.record(props, { requiredKeys: s.required ?? [] });
  }
  const value = typeof s.additionalProperties === "object" ? s.additionalProperties : {};
  return fc.dictionary(stringFrom(s.propertyNames ?? { type: "string" }), fromSchema(value), {
    minKeys: Number(s.minProperties ?? 0),
    maxKeys: Math.min(Number(s.maxProperties ?? 4), 4),
  });
};

const CALLBACK_PREFIX = "https://hooks.example.com/";

describe("bodies generated from the OpenAPI document", { timeout: 600_000 }, () => {
  let redis: Redis;
  let client: Redis;
  const prefix = freshPrefix();
  const k = keys(prefix);
  const agent = uniqueName("doc-agent");
  const target = uniqueName("doc-svc");
  let key: string;

  beforeAll(async () => {
    redis = testClient();
    client = testClient();
    key = await addAgent(redis, prefix, {
      id: agent,
      targets: [target],
      actions: [...ACTIONS],
      rate: 1_000_000,
      callbacks: [CALLBACK_PREFIX],
    });
    await publishTarget(redis, prefix, target, [...ACTIONS]);
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
    client.disconnect();
  });

  it("are each accepted (202), bar the refusals the document names as cross-field", async () => {
    // The document as agents get it: JSON, so nothing of zod's survives but what it says.
    const doc = JSON.parse(JSON.stringify(openApiDocument()));
    const post = doc.paths["/v1/improvements"].post;
    const body = fromSchema(doc.components.schemas.ImprovementSubmission as Schema);
    const idempotencyKey = stringFrom(
      post.parameters.find((p: { name: string }) => p.name === "Idempotency-Key").schema,
    );
    const app = createApp({
      redis: new IoredisAdapter(client),
      config: parseIntakeConfig({ KEY_PREFIX: prefix, TARGET_BUDGET: "1000000/hour" }),
      clock: Date.now,
      newId: () => crypto.randomUUID(),
      runtime: "node",
    });

    let n = 0;
    const s = seed(20261202);
    await fc.assert(
      fc.asyncProperty(body, fc.option(idempotencyKey), async (generated, idem) => {
        n++;
        const b: Record<string, unknown> = {
          ...(generated as Record<string, unknown>),
          target_agent: target,
        };
        // What the document lets through, zod lets through: the two say the same.
        const parsed = improvementSubmission.safeParse(b);
        expect(parsed.success, `${JSON.stringify(b)}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
        // The cross-field rules, set up rather than generated.
        if (b.agent_id !== undefined) b.agent_id = agent;
        if (b.id !== undefined) b.id = crypto.randomUUID();
        if (typeof b.callback_url === "string") {
          const rest = b.callback_url.replace(/^https?:\/\/[^/?#]*\/?/, "");
          b.callback_url = `${CALLBACK_PREFIX}${rest}`;
        }
        const headers: Record<string, string> = {
          "content-type": "application/json",
          authorization: `Bearer ${key}`,
        };
        if (idem !== null) headers["idempotency-key"] = `${idem.slice(0, 240)}-${n}`;
        const res = await app.request("http://intake.test/v1/improvements", {
          method: "POST",
          headers,
          body: JSON.stringify(b),
        });
        const text = await res.text();
        expect(res.status, `${JSON.stringify(b)} ${JSON.stringify(headers)}: ${text}`).toBe(202);
      }),
      { seed: s, numRuns: size(300, 3000) },
    );
    process.stdout.write(`document-generated bodies: seed ${s}, ${n} accepted\n`);
    expect(await redis.xlen(k.requestStream)).toBe(n);
  });
});
