import * as z from "zod";
import type { RequestState } from "./status.js";

/**
 * The fields the original HyperCode system's `ImprovementRequest` (pydantic, its
 * `agents/shared/protocols/evolution.py`) writes beyond ours, and its meaning of them. Its agents
 * XADD `model_dump_json()` as is, so every field that model can produce must be known here.
 */

/** Upstream priorities are 1 (low) to 5 (critical); ours are three words. One mapping, here. */
export const PRIORITY_WORDS = ["low", "normal", "high"] as const;
export type Priority = (typeof PRIORITY_WORDS)[number];
export const priorityOfNumber = (n: number): Priority => (n <= 2 ? "low" : n === 3 ? "normal" : "high");

const PRIORITY_RULE = "priority must be a whole number from 1 (low) to 5 (critical), or low, normal or high";

export const priority = z
  .union(
    [z.enum(PRIORITY_WORDS), z.number().int(PRIORITY_RULE).min(1, PRIORITY_RULE).max(5, PRIORITY_RULE)],
    {
      error: PRIORITY_RULE,
    },
  )
  .transform((p): Priority => (typeof p === "number" ? priorityOfNumber(p) : p));

const MAX_FILES = 256;
// Tab, newline and every other C0/C1 control character: a file name with one would forge lines in
// the CLI's and the dashboard's output.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const NO_CONTROL = /^[^\u0000-\u001f\u007f-\u009f]*$/;

export const filesChanged = z
  .array(
    z
      .string()
      .min(1, "a file name must not be empty")
      .max(1024, "a file name is at most 1024 characters")
      // A pattern, not a refinement, so that the JSON Schema says it too.
      .regex(NO_CONTROL, "a file name must not contain control characters"),
  )
  .max(MAX_FILES, `files_changed lists at most ${MAX_FILES} files`);

export const MAX_TEST_RESULTS_BYTES = 16 * 1024;
const MAX_TEST_RESULTS_DEPTH = 8;

const depthOf = (v: unknown): number =>
  v !== null && typeof v === "object"
    ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf))
    : 0;

/** "Output from QA validation": free-form, so bounded by size and nesting rather than shape. */
export const testResults = z
  .record(z.string(), z.unknown())
  .refine(
    (r) => new TextEncoder().encode(JSON.stringify(r)).length <= MAX_TEST_RESULTS_BYTES,
    `test_results is at most ${MAX_TEST_RESULTS_BYTES} bytes of JSON`,
  )
  .refine(
    (r) => depthOf(r) <= MAX_TEST_RESULTS_DEPTH,
    `test_results nests at most ${MAX_TEST_RESULTS_DEPTH} levels`,
  )
  // JSON Schema cannot bound a value's encoded size or depth: the document says it in words.
  .describe(
    `any JSON object of at most ${MAX_TEST_RESULTS_BYTES} bytes (as JSON) nesting at most ${MAX_TEST_RESULTS_DEPTH} levels`,
  )
  .nullable();

/** The upstream life of a request, from its `EvolutionStatus`. */
export const EVOLUTION_STATUSES = [
  "proposed",
  "coded",
  "tested",
  "deploying",
  "completed",
  "failed",
  "rolled_back",
] as const;
export type EvolutionStatus = (typeof EVOLUTION_STATUSES)[number];

/** A submission proposes; every later status is the runner's to report, not the agent's to claim. */
export const submittedStatus = z.literal("proposed", {
  error:
    "status must be 'proposed' or absent: a submission proposes a change, the runner reports what became of it",
});

/**
 * Python's `datetime.utcnow().isoformat()` has no offset; upstream means UTC. Normalised to an
 * offset so that every reader compares instants.
 */
export const agentTimestamp = z.iso
  .datetime({
    offset: true,
    local: true,
    error:
      "timestamp must be an ISO 8601 date and time, e.g. 2026-12-01T23:34:55.317444 (UTC) or with an offset",
  })
  .transform((t) => (/(?:Z|[+-]\d{2}:?\d{2})$/i.test(t) ? t : `${t}Z`));

/**
 * Our state in upstream words. A coalesced request was carried out by another one, so it takes that
 * one's outcome once known (`carrierState`), and is still being deployed until then.
 */
export const evolutionStatusOf = (state: RequestState, carrierState?: RequestState): EvolutionStatus => {
  switch (state) {
    case "queued":
      return "proposed";
    case "running":
    case "building":
    case "deploying":
      return "deploying";
    case "succeeded":
      return "completed";
    case "rolled_back":
      return "rolled_back";
    case "coalesced":
      return carrierState && carrierState !== "coalesced" ? evolutionStatusOf(carrierState) : "deploying";
    case "failed":
    case "rejected":
    case "dead_lettered":
      return "failed";
  }
};
