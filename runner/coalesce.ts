import { canonicalJson } from "../shared/canonical-json.js";
import type { Action, ImprovementRequest } from "../shared/protocol/index.js";
import { compareIds } from "./stream-id.js";

/**
 * Actions whose repeats one deploy can stand for. Each converges on the same state however many
 * times it runs, and any run that starts after a request was queued satisfies it:
 * - `restart`: restarts every replica, whatever the request;
 * - `redeploy` with the same image (or none): recreates from the same config;
 * - `rebuild` with the same build args: builds from the context as it is when the deploy starts,
 *   which is at least as new as when the request was made.
 * Not the others: `scale` and `update_config` set values, and between two identical ones another
 * request may have set a different value that the second must override again; `rollback` without
 * a revision means "one back", so two of them mean two steps.
 */
export const COALESCING_ACTIONS: ReadonlySet<Action> = new Set<Action>(["restart", "redeploy", "rebuild"]);

/** Requests with the same key ask for the same thing of the same target; undefined: never coalesced. */
export const coalesceKey = (r: ImprovementRequest): string | undefined =>
  COALESCING_ACTIONS.has(r.payload.action) ? `${r.target_agent}\n${canonicalJson(r.payload)}` : undefined;

export interface OpenRequest {
  readonly id: string;
  readonly request: ImprovementRequest;
}

/**
 * The requests a deploy carries out besides its own: among the open (unacknowledged) requests for
 * the carrier's target, in stream order, the unbroken run of identical ones around the carrier. A
 * different request for the same target in between ends the run, so that coalescing never moves
 * a request to the other side of one it was queued before or after.
 */
export const pickCoalesced = <T extends OpenRequest>(carrier: OpenRequest, open: readonly T[]): T[] => {
  const key = coalesceKey(carrier.request);
  if (key === undefined) return [];
  const target = carrier.request.target_agent;
  const line = open
    .filter((o) => o.request.target_agent === target && o.id !== carrier.id)
    // Another entry of the carrier's own request (written twice) is neither coalesced nor a break.
    .filter((o) => o.request.request_id !== carrier.request.request_id)
    .sort((a, b) => compareIds(a.id, b.id));
  const before = line.filter((o) => compareIds(o.id, carrier.id) < 0).reverse();
  const after = line.filter((o) => compareIds(o.id, carrier.id) > 0);
  const run = (side: T[]): T[] => {
    const end = side.findIndex((o) => coalesceKey(o.request) !== key);
    return end === -1 ? side : side.slice(0, end);
  };
  return [...run(before).reverse(), ...run(after)];
};
