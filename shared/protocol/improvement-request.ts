import * as z from "zod";
import { improvementPayload } from "./payload.js";
import { agentId, SLUG_PATTERN, targetName } from "./slug.js";

export const IMPROVEMENT_TYPES = [
  "performance",
  "security",
  "bug_fix",
  "dependency_update",
  "configuration",
  "feature",
  "reliability",
] as const;

export type ImprovementType = (typeof IMPROVEMENT_TYPES)[number];

/**
 * Agents already send upper-case types (`PERFORMANCE`); both spellings are listed so that the JSON
 * Schema says exactly what is accepted, and the value is normalised to lower case.
 */
export const improvementType = z
  .enum([...IMPROVEMENT_TYPES, ...IMPROVEMENT_TYPES.map((t) => t.toUpperCase())] as [string, ...string[]])
  .transform((t) => t.toLowerCase() as ImprovementType);

export const requestId = z.string().max(64).regex(SLUG_PATTERN, "request_id must be a slug");

const metadata = z
  .record(z.string().regex(/^[a-z0-9_.-]{1,64}$/), z.string().max(256))
  .refine((m) => Object.keys(m).length <= 16, "at most 16 metadata entries");

/** The fields an agent writes; shared by what it POSTs and what it XADDs directly. */
const requestFields = {
  agent_id: agentId,
  target_agent: targetName,
  improvement_type: improvementType,
  description: z.string().trim().min(1, "description must not be empty").max(4000),
  payload: improvementPayload,
  priority: z.enum(["low", "normal", "high"]).optional(),
  metadata: metadata.optional(),
  /**
   * Where the runner POSTs the final status, signed (see shared/webhook.ts). It must start with
   * one of the callback prefixes an operator allowed on the agent's record.
   */
  callback_url: z
    .url({ protocol: /^https?$/, error: "callback_url must be an http(s) URL" })
    .max(2048)
    .refine((u) => !/^https?:\/\/[^/]*@/.test(u), "callback_url must not carry credentials")
    .optional(),
};

/** The body of `POST /v1/improvements`. `agent_id` comes from the API key; if given it must match. */
export const improvementSubmission = z.strictObject({ ...requestFields, agent_id: agentId.optional() });

/** A request as the intake writes it to the stream: everything filled in. */
export const improvementRequest = z.strictObject({
  ...requestFields,
  request_id: requestId,
  created_at: z.iso.datetime({ offset: true }),
});

/**
 * A stream entry as the runner reads it. Agents that XADD directly write neither `request_id` nor
 * `created_at`; the runner derives them from the entry id.
 */
export const streamImprovementRequest = z.strictObject({
  ...requestFields,
  request_id: requestId.optional(),
  created_at: z.iso.datetime({ offset: true }).optional(),
});

export type ImprovementSubmission = z.infer<typeof improvementSubmission>;
export type ImprovementSubmissionInput = z.input<typeof improvementSubmission>;
export type ImprovementRequest = z.infer<typeof improvementRequest>;
export type StreamImprovementRequest = z.infer<typeof streamImprovementRequest>;
