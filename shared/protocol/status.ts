import * as z from "zod";

/**
 * The life of a request. `queued` is written by whoever accepts it (the intake, or the runner for
 * entries written straight to the stream); every other state is the runner's.
 */
export const REQUEST_STATES = [
  "queued",
  "running",
  "building",
  "deploying",
  "succeeded",
  "failed",
  "rolled_back",
  "rejected",
  "coalesced",
  "dead_lettered",
] as const;

export type RequestState = (typeof REQUEST_STATES)[number];
export const requestState = z.enum(REQUEST_STATES);

export const TERMINAL_STATES: ReadonlySet<RequestState> = new Set([
  "succeeded",
  "failed",
  "rolled_back",
  "rejected",
  "coalesced",
  "dead_lettered",
]);

export const isTerminal = (s: RequestState): boolean => TERMINAL_STATES.has(s);

const ENDINGS = ["failed", "rejected", "dead_lettered"] as const;

/**
 * Allowed edges, checked atomically in `transition.lua` (the map is passed in, so this is the only
 * copy). Going back to `queued` is how a job is handed back for a retry or on shutdown.
 */
export const TRANSITIONS: Record<RequestState, readonly RequestState[]> = {
  queued: ["running", "coalesced", ...ENDINGS],
  running: ["building", "deploying", "succeeded", "rolled_back", "queued", ...ENDINGS],
  building: ["deploying", "queued", ...ENDINGS],
  deploying: ["succeeded", "rolled_back", "queued", ...ENDINGS],
  succeeded: [],
  failed: [],
  rolled_back: [],
  rejected: [],
  coalesced: [],
  dead_lettered: [],
};

/** The states from which `to` may be entered. */
export const allowedFrom = (to: RequestState): RequestState[] =>
  REQUEST_STATES.filter((from) => TRANSITIONS[from].includes(to));

/** One entry of a request's timeline, as stored in its events stream. */
export const statusEvent = z.object({
  request_id: z.string(),
  state: requestState,
  at: z.string(),
  detail: z.string().optional(),
});
export type StatusEvent = z.infer<typeof statusEvent>;
