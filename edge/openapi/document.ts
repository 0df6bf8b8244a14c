import * as z from "zod";
import {
  acceptedSchema,
  healthSchema,
  IDEMPOTENCY_KEY,
  problemSchema,
  readySchema,
  statusEventSchema,
  statusViewSchema,
  targetsSchema,
  webhookKeysSchema,
} from "../../shared/protocol/http.js";
import { submissionJsonSchema } from "../../shared/protocol/json-schema.js";

/** Response schemas by component name, for the description and for tests that check responses. */
export const RESPONSE_SCHEMAS = {
  Problem: problemSchema,
  Accepted: acceptedSchema,
  ImprovementStatus: statusViewSchema,
  StatusEvent: statusEventSchema,
  Targets: targetsSchema,
  WebhookKeys: webhookKeysSchema,
  Health: healthSchema,
  Ready: readySchema,
} as const;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ "application/json": { schema: ref(name) } });
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Problem") } },
});

const rateHeaders = {
  "RateLimit-Limit": { schema: { type: "integer" } },
  "RateLimit-Remaining": { schema: { type: "integer" } },
  "RateLimit-Reset": { schema: { type: "integer" }, description: "seconds" },
  "RateLimit-Policy": { schema: { type: "string" } },
};

const common = {
  "405": problem("method not allowed on this path (see the Allow header)"),
  "503": problem("Redis unreachable; nothing was written. Retry after Retry-After seconds"),
};
const authed = { ...common, "401": problem("no key, a wrong key, or a revoked key") };
const idParam = { name: "id", in: "path", required: true, schema: { type: "string" } };

/** The OpenAPI 3.1 description, generated from the zod schemas the intake validates and answers with. */
export const openApiDocument = () => {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    target: "draft-2020-12",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  const components: Record<string, unknown> = {};
  for (const name of Object.keys(RESPONSE_SCHEMAS)) {
    // A component is named by its place in the document; an `$id` of `#/components/schemas/X`
    // (what zod writes) is a fragment, which JSON Schema 2020-12 forbids in `$id`.
    const { $schema: _, $id: _id, ...schema } = schemas[name] ?? {};
    components[name] = schema;
  }
  const { $schema: _s, $id: _i, ...submission } = submissionJsonSchema();
  components.ImprovementSubmission = submission;

  return {
    openapi: "3.1.0",
    info: {
      title: "HyperCode Evolution intake",
      version: "1",
      description:
        "Agents submit improvement requests (restart, redeploy, rebuild, update_config, rollback, scale) for services a runner carries out with zero downtime. Every error is application/problem+json.",
    },
    components: {
      schemas: components,
      securitySchemes: {
        agentKey: { type: "http", scheme: "bearer", description: "hc1.<agent_id>.<secret>" },
      },
    },
    paths: {
      "/v1/improvements": {
        post: {
          operationId: "submitImprovement",
          security: [{ agentKey: [] }],
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              schema: { type: "string", minLength: 1, maxLength: 255, pattern: IDEMPOTENCY_KEY.source },
              description:
                "a retry with the same key and body gets the first answer; nothing new is written (an `id` in the body does the same)",
            },
          ],
          requestBody: { required: true, content: json("ImprovementSubmission") },
          responses: {
            "202": {
              description: "accepted and queued",
              headers: {
                Location: { schema: { type: "string" } },
                "Idempotent-Replayed": {
                  schema: { type: "string", const: "true" },
                  description:
                    "present on the answer to a retry (same Idempotency-Key or id, same body): the first answer again, nothing new written",
                },
                ...rateHeaders,
              },
              content: json("Accepted"),
            },
            "400": problem("malformed JSON, or an invalid Idempotency-Key"),
            "403": problem(
              "target or action outside the key's scope, agent_id not the key's, or callback_url not under a prefix the agent's record allows",
            ),
            "413": problem("body too large"),
            "409": problem(
              "the body's id already names a different request (the same body again is a retry: 202 with Idempotent-Replayed)",
            ),
            "415": problem("not application/json"),
            "422": problem(
              "schema violation (with errors), target or action not enabled, idempotency key reused",
            ),
            "429": problem("the agent's rate limit or the target's change budget; see Retry-After"),
            ...authed,
          },
        },
      },
      "/v1/improvements/{id}": {
        get: {
          operationId: "getImprovement",
          security: [{ agentKey: [] }],
          parameters: [idParam],
          responses: {
            "200": {
              description: "the request, its status and timeline",
              content: json("ImprovementStatus"),
            },
            "404": problem("no such request for this agent"),
            ...authed,
          },
        },
      },
      "/v1/improvements/{id}/events": {
        get: {
          operationId: "followImprovement",
          security: [{ agentKey: [] }],
          parameters: [
            idParam,
            { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } },
          ],
          responses: {
            "200": {
              description:
                "Server-Sent Events: `status` per transition (id = timeline id), then `end` when finished",
              content: { "text/event-stream": { schema: ref("StatusEvent") } },
            },
            "404": problem("no such request for this agent"),
            "429": problem("the agent already holds FEEDS_PER_AGENT live feeds; see Retry-After"),
            ...authed,
          },
        },
      },
      "/v1/targets": {
        get: {
          operationId: "listTargets",
          security: [{ agentKey: [] }],
          responses: {
            "200": { description: "targets and actions this key may request", content: json("Targets") },
            ...authed,
          },
        },
      },
      "/v1/webhook-keys": {
        get: {
          operationId: "listWebhookKeys",
          description:
            "The public keys webhooks are signed with (a JWK Set). No key needed. Fetch again when a webhook names a kid the list lacks",
          responses: {
            "200": {
              description: "the keys of live runners, and of runners gone for less than an hour",
              content: json("WebhookKeys"),
            },
            ...common,
          },
        },
      },
      "/healthz": {
        get: { operationId: "health", responses: { "200": { description: "up", content: json("Health") } } },
      },
      "/readyz": {
        get: {
          operationId: "ready",
          responses: { "200": { description: "Redis reachable", content: json("Ready") }, ...common },
        },
      },
      "/v1/schema/improvement-request.json": {
        get: {
          operationId: "submissionSchema",
          responses: {
            "200": { description: "JSON Schema of a submission", content: { "application/json": {} } },
          },
        },
      },
      "/openapi.json": {
        get: {
          operationId: "openapi",
          responses: { "200": { description: "this document", content: { "application/json": {} } } },
        },
      },
    },
  };
};
