import type * as z from "zod";
import { type ImprovementRequest, streamImprovementRequest } from "./improvement-request.js";

/** The one field every entry of the request stream carries: the request as JSON. */
export const PAYLOAD_FIELD = "payload";

export const encodeStreamFields = (request: ImprovementRequest): [string, string] => [
  PAYLOAD_FIELD,
  JSON.stringify(request),
];

/**
 * The request id of an entry that an agent wrote straight to the stream without one. Derived from
 * the entry id, so that every redelivery of the entry maps to the same status record.
 */
export const requestIdForEntry = (entryId: string): string => `stream-${entryId}`;

export type DecodedEntry =
  | { ok: true; request: ImprovementRequest; direct: boolean }
  | { ok: false; reason: string; issues?: z.core.$ZodIssue[] };

/** Field/value pairs as XRANGE/XREADGROUP return them. */
export const fieldsToRecord = (fields: readonly string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
  return out;
};

/**
 * Turns a stream entry back into a request. Accepts what the intake writes and what agents XADD
 * directly (no `created_at`, the request id as `id`, `request_id` or neither); anything else is a
 * reason for the dead-letter stream.
 */
export const decodeStreamEntry = (entryId: string, fields: Record<string, string>): DecodedEntry => {
  const raw = fields[PAYLOAD_FIELD];
  if (raw === undefined) return { ok: false, reason: `entry has no '${PAYLOAD_FIELD}' field` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: `'${PAYLOAD_FIELD}' is not valid JSON` };
  }
  const parsed = streamImprovementRequest.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `'${PAYLOAD_FIELD}' does not match the protocol`,
      issues: parsed.error.issues,
    };
  }
  // The intake always writes created_at; an entry without one was XADDed by an agent itself.
  const { id, ...written } = parsed.data;
  const direct = written.created_at === undefined;
  const ms = Number(entryId.split("-")[0]);
  return {
    ok: true,
    direct,
    request: {
      ...written,
      request_id: written.request_id ?? id ?? requestIdForEntry(entryId),
      created_at: written.created_at ?? new Date(Number.isFinite(ms) ? ms : 0).toISOString(),
    },
  };
};
