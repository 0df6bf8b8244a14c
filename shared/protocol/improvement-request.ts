import * as z from "zod";
import { namedRecord } from "./named-record.js";
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

const metadata = namedRecord(z.string().regex(/^[a-z0-9_.-]{1,64}$/), z.string().max(256))
  .refine((m) => Object.keys(m).length <= 16, "at most 16 metadata entries")
  .meta({ maxProperties: 16 });

/**
 * Line breaks and tabs lay a description out; every other control character (C0, DEL, C1) would
 * reach an operator's terminal or log as an escape sequence (retitle, clear, forge lines).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const DESCRIPTION_TEXT = /^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$/;

/**
 * http(s) without credentials, as a pattern (not a refinement) so that the JSON Schema says it: a
 * host name or IPv4 address, an optional port, then a path, query or fragment. No `@` before the
 * path, no backslash (URL parsers read one as `/`), no whitespace or control character (they strip
 * or ignore them, so what is checked would differ from what is called).
 */
// No punycode (`xn--`) labels: whether one decodes depends on the URL parser's IDNA tables, so
// the pattern could not promise that the URL parses. The last label starts with a letter: an
// all-digit one would be read as part of an IPv4 address.
const NOT_PUNYCODE = "(?![Xx][Nn]--)";
const LABEL = `${NOT_PUNYCODE}[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`;
const HOST_NAME = String.raw`(?:${LABEL}\.)*${NOT_PUNYCODE}[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`;
const OCTET = String.raw`(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`;
const PORT = String.raw`(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}|0)`;
export const CALLBACK_URL = new RegExp(
  String.raw`^https?://(?:${HOST_NAME}|${OCTET}(?:\.${OCTET}){3})(?::${PORT})?(?:[/?#][^\s\\\x00-\x1f\x7f]*)?$`,
);

/** The fields an agent writes; shared by what it POSTs and what it XADDs directly. */
const requestFields = {
  agent_id: agentId,
  target_agent: targetName,
  improvement_type: improvementType,
  // Checked before trimming, as patterns, so that the JSON Schema says the same.
  description: z
    .string()
    .max(4000)
    .regex(/\S/, "description must not be empty")
    .regex(
      DESCRIPTION_TEXT,
      "description must not contain control characters other than tab and newline (they would reach operators' terminals as escape sequences)",
    )
    .trim(),
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
  // The pattern first, on the text as sent (z.url strips tabs and newlines before it checks), and
  // it is what the JSON Schema shows; the URL parse after it stays as a second opinion.
  callback_url: z
    .string()
    .max(2048)
    .regex(
      CALLBACK_URL,
      "callback_url must be http(s)://host[:port][/path], without credentials, spaces or backslashes",
    )
    .pipe(z.url({ protocol: /^https?$/, error: "callback_url must be an http(s) URL" }))
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
