import * as z from "zod";
import { improvementPayload } from "./payload.js";
import { agentId, SLUG_PATTERN, targetName } from "./slug.js";
import { agentTimestamp, filesChanged, priority, submittedStatus, testResults } from "./upstream.js";

export const IMPROVEMENT_TYPES = [
  "performance",
  "security",
  "bug_fix",
  "dependency_update",
  "configuration",
  "feature",
  "reliability",
  "refactor",
] as const;

export type ImprovementType = (typeof IMPROVEMENT_TYPES)[number];

/**
 * Agents already send upper-case types (`PERFORMANCE`); both spellings are listed so that the JSON
 * Schema says exactly what is accepted, and the value is normalised to lower case.
 */
export const improvementType = z
  .enum([...IMPROVEMENT_TYPES, ...IMPROVEMENT_TYPES.map((t) => t.toUpperCase())] as [string, ...string[]])
  .transform((t) => t.toLowerCase() as ImprovementType);

const requestIdOf = (field: string) =>
  z
    .string()
    .max(63, `${field} is at most 63 characters`)
    .regex(
      SLUG_PATTERN,
      `${field} must be a request id: 1 to 63 of lowercase a-z, 0-9, '-' and '_', starting with a letter or digit (a uuid4 such as 9d59c28c-0f38-4ad2-b72a-b0164ddbfea5 fits)`,
    );

/** A request id: the intake's own, or the `id` an agent chose (upstream agents send a uuid4). */
export const requestId = requestIdOf("request_id");
const agentChosenId = requestIdOf("id");

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
  /** Upstream sends 1-5; stored as the word it maps to (see upstream.ts). */
  priority: priority.optional(),
  metadata: metadata.optional(),
  files_changed: filesChanged.optional(),
  test_results: testResults.optional(),
  status: submittedStatus.optional(),
  /** The agent's own time of writing; `created_at` is the time the request was accepted. */
  timestamp: agentTimestamp.optional(),
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

/**
 * The body of `POST /v1/improvements`. `agent_id` comes from the API key; if given it must match.
 * `id`, if given, becomes the request id (upstream agents always send one).
 */
export const improvementSubmission = z.strictObject({
  ...requestFields,
  agent_id: agentId.optional(),
  id: agentChosenId.optional(),
});

/** A request as the intake writes it to the stream: everything filled in. */
export const improvementRequest = z.strictObject({
  ...requestFields,
  request_id: requestId,
  created_at: z.iso.datetime({ offset: true }),
});

/**
 * A stream entry as the runner reads it. Agents that XADD directly write no `created_at`, and name
 * their request with `id` (upstream) or `request_id`, or not at all: the runner derives what is
 * missing from the entry id.
 */
export const streamImprovementRequest = z
  .strictObject({
    ...requestFields,
    id: agentChosenId.optional(),
    request_id: requestId.optional(),
    created_at: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((r) => r.id === undefined || r.request_id === undefined || r.id === r.request_id, {
    message: "id and request_id name the same request: give one, or both equal",
    path: ["id"],
  });

export type ImprovementSubmission = z.infer<typeof improvementSubmission>;
export type ImprovementSubmissionInput = z.input<typeof improvementSubmission>;
export type ImprovementRequest = z.infer<typeof improvementRequest>;
export type StreamImprovementRequest = z.infer<typeof streamImprovementRequest>;
