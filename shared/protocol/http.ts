import * as z from "zod";
import { ACTIONS } from "./payload.js";
import { REQUEST_STATES } from "./status.js";
import { EVOLUTION_STATUSES } from "./upstream.js";
import { ED25519_PUBLIC_KEY, WEBHOOK_KEY_ID } from "./webhook-key.js";

/** An Idempotency-Key header: printable ASCII without spaces, as most implementations accept. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The shapes the intake answers with. Routes build their bodies as these types, the OpenAPI
 * description is generated from them, and the tests parse real responses with them: one source.
 */
export const problemSchema = z
  .object({
    type: z.string().describe("urn:hypercode:problem:<code>"),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe("validation-failed only: one entry per field"),
    revoked_at: z.string().optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details" });

export const acceptedSchema = z
  .object({
    request_id: z.string(),
    status: z.literal("queued"),
    status_url: z
      .string()
      .regex(/^(?:https?:\/\/[^/?#\s]+[^?#\s]*)?\/v1\/improvements\/[^/?#\s]+$/)
      .describe(
        "where to GET the request's status: the intake's PUBLIC_URL joined with the path when the operator set one, else the path alone (relative to the address the agent used); never built from the Host header",
      ),
    created_at: z.string(),
  })
  .meta({ id: "Accepted" });

const state = z.enum(REQUEST_STATES);

export const statusViewSchema = z
  .object({
    request_id: z.string(),
    agent_id: z.string(),
    target_agent: z.string(),
    action: z.enum(ACTIONS),
    status: state,
    evolution_status: z
      .enum(EVOLUTION_STATUSES)
      .describe("the status in the original HyperCode system's words (its EvolutionStatus)"),
    detail: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    request: z.record(z.string(), z.unknown()).nullable(),
    result: z
      .record(z.string(), z.string())
      .describe("what the runner recorded: revision, image, health_log, coalesced_into, …"),
    timeline: z.array(z.object({ state, at: z.string(), detail: z.string().nullable() })),
  })
  .meta({ id: "ImprovementStatus" });

export const statusEventSchema = z
  .object({
    request_id: z.string(),
    status: state,
    at: z.string().optional(),
    detail: z.string().nullable().optional(),
  })
  .meta({ id: "StatusEvent", description: "data of each SSE `status` event, and of the final `end` event" });

export const targetsSchema = z
  .object({
    agent_id: z.string(),
    scope: z.object({ targets: z.array(z.string()), actions: z.array(z.enum(ACTIONS)) }),
    targets: z.array(
      z.object({
        target: z.string(),
        actions: z.array(z.enum(ACTIONS)),
        replicas: z.number().int().nullable(),
        revision: z.string().nullable(),
      }),
    ),
    note: z.string().optional(),
  })
  .meta({ id: "Targets" });

/**
 * The keys webhooks are signed with, as a JWK Set (RFC 7517, OKP keys of RFC 8037), so that JOSE
 * libraries and WebCrypto's `importKey("jwk", …)` take each key as it is.
 */
export const webhookKeysSchema = z
  .object({
    keys: z.array(
      z.object({
        kty: z.literal("OKP"),
        crv: z.literal("Ed25519"),
        alg: z.literal("EdDSA"),
        use: z.literal("sig"),
        kid: z.string().regex(WEBHOOK_KEY_ID),
        x: z.string().regex(ED25519_PUBLIC_KEY).describe("the raw public key, base64url"),
        expires_at: z.string().describe("when the key leaves this list unless its runner publishes it again"),
      }),
    ),
  })
  .meta({
    id: "WebhookKeys",
    description: "the public keys of every live runner (and of runners gone less than an hour ago)",
  });

export const healthSchema = z
  .object({ status: z.literal("ok"), runtime: z.enum(["node", "workers"]) })
  .meta({ id: "Health" });
export const readySchema = z.object({ status: z.literal("ready") }).meta({ id: "Ready" });

export type Accepted = z.infer<typeof acceptedSchema>;
export type StatusView = z.infer<typeof statusViewSchema>;
export type TargetsView = z.infer<typeof targetsSchema>;
export type WebhookKeys = z.infer<typeof webhookKeysSchema>;
export type WebhookPublicKey = WebhookKeys["keys"][number];
