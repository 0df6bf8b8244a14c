import * as z from "zod";
import { actionName } from "./payload.js";
import { requestState } from "./status.js";

/**
 * A request's status record, the Redis hash `hypercode:request:<id>`: written by `submit.lua`
 * (the intake), `transition.lua` and `request_note.lua` (the runner's moves), and the runner's
 * reports; read by the status API, the CLI, webhooks and deployment events. Hash values are text,
 * so numbers and JSON are text here too.
 */
export const statusRecord = z.object({
  request_id: z.string(),
  agent_id: z.string(),
  target_agent: z.string(),
  action: actionName,
  state: requestState,
  created_at: z.string(),
  updated_at: z.string(),
  /** The stream entry the record belongs to: a second entry with the same id is not this one. */
  entry_id: z.string().optional(),
  /** The request as accepted, JSON. */
  request: z.string().optional(),
  detail: z.string().optional(),

  // What the runner found out, shown to the agent (the status view's `result`, webhooks, events).
  revision: z.string().optional(),
  image: z.string().optional(),
  image_id: z.string().optional(),
  carried_out_as: actionName.optional(),
  health_log: z.string().optional(),
  build_log: z.string().optional(),
  coalesced_into: z.string().optional(),
  refusal_code: z.string().optional(),
  retry_at: z.string().optional(),
  runner_id: z.string().optional(),
  /** The attempt that ran it: how many times its entry had been handed out, and the lock's fence. */
  deliveries: z.string().optional(),
  fence: z.string().optional(),
  webhook: z.string().optional(),
  /** Second entries with this id, acknowledged without running. */
  duplicates: z.string().optional(),

  // Bookkeeping, never shown as a result.
  /** SHA-256 of fingerprintText(request): what a retry under the same id must match. */
  fingerprint: z.string().optional(),
  /** JSON list of the request ids a carrier's deploy carries out (coalesced into it). */
  carries: z.string().optional(),
  /** A coalesced request's carrier's final state, once known. */
  carrier_state: requestState.optional(),
});
export type StatusRecord = z.infer<typeof statusRecord>;
export type StatusField = keyof StatusRecord;

/** Fields every view shows in its own place (not under `result`). */
export const STATUS_CORE_FIELDS = [
  "request_id",
  "agent_id",
  "target_agent",
  "action",
  "state",
  "created_at",
  "updated_at",
  "detail",
  "request",
  "entry_id",
] as const satisfies readonly StatusField[];

/** Fields that are the record's own bookkeeping, shown nowhere. */
export const STATUS_BOOKKEEPING_FIELDS = [
  "fingerprint",
  "carries",
  "carrier_state",
] as const satisfies readonly StatusField[];

/** What the runner recorded about the outcome, as a receiver of a webhook gets it. */
export const STATUS_RESULT_FIELDS = [
  "revision",
  "image",
  "image_id",
  "carried_out_as",
  "health_log",
  "build_log",
  "coalesced_into",
  "refusal_code",
] as const satisfies readonly StatusField[];

/** The ids in a record's `carries` (JSON written by the runner; anything else reads as none). */
export const carriesOf = (text: string | undefined): string[] => {
  try {
    const v: unknown = JSON.parse(text ?? "[]");
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
};

/** A hash as Redis returned it, read with the schema; undefined when it is not a status record. */
export const readStatusRecord = (hash: Record<string, string>): StatusRecord | undefined => {
  const parsed = statusRecord.safeParse(hash);
  return parsed.success ? parsed.data : undefined;
};
