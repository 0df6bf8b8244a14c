import {
  decodeStreamEntry,
  type ImprovementRequest,
  isTerminal,
  type RequestState,
} from "../shared/protocol/index.js";
import type { Delivery } from "./consume.js";
import type { DirectCheck } from "./direct-entries.js";
import { PolicyRefusal } from "./errors.js";
import type { Deployer } from "./ports.js";
import { fingerprintOf, recordFields, type StatusStore } from "./status.js";

/** What the runner makes of an entry before it takes any lock. */
export type Verdict =
  /** Cannot be read as a request at all (or claims another entry's request id): dead-letter it. */
  | {
      kind: "garbage";
      reason: string;
      cause: "undecodable" | "id_reused" | "unknown_agent" | "direct_entries_off";
    }
  /**
   * A second entry for a request already known, asking the same thing (an agent's retried XADD):
   * acknowledge it and note it on the first, never run it twice.
   */
  | { kind: "duplicate"; request: ImprovementRequest; firstEntryId: string }
  /** Finished before (a redelivery): acknowledge it, do nothing else. */
  | { kind: "finished"; request: ImprovementRequest; state: RequestState }
  /** Handed out more often than allowed: dead-letter it without trying again. */
  | { kind: "exhausted"; request: ImprovementRequest }
  /** The runner's own policy refuses it: `rejected`, Docker untouched. */
  | { kind: "refused"; request: ImprovementRequest; refusal: PolicyRefusal }
  /** The check itself failed (say, Docker unreachable): retried like a failed deploy. */
  | { kind: "error"; request: ImprovementRequest; error: unknown }
  | { kind: "valid"; request: ImprovementRequest; state: RequestState; direct: boolean };

export interface AdmitDeps {
  readonly status: StatusStore;
  readonly deployer: Deployer;
  readonly maxDeliveries: number;
  /** The intake's checks for an entry that came without one (direct-entries.ts). */
  readonly checkDirect: (request: ImprovementRequest, entryId: string) => Promise<DirectCheck>;
}

const describeIssues = (issues: { path: PropertyKey[]; message: string }[] = []): string =>
  issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
    .join("; ");

/**
 * Decodes the entry with the shared schema and checks it against the target's policy again:
 * Redis is not a trust boundary, anything could have written the entry.
 */
export const admit = async (d: Delivery, deps: AdmitDeps): Promise<Verdict> => {
  const decoded = decodeStreamEntry(d.id, d.fields);
  if (!decoded.ok) {
    const issues = describeIssues(decoded.issues);
    return {
      kind: "garbage",
      reason: issues ? `${decoded.reason}: ${issues}` : decoded.reason,
      cause: "undecodable",
    };
  }
  const { request, direct } = decoded;
  const head = await deps.status.head(request.request_id);
  if (head.entryId !== undefined && head.entryId !== d.id) {
    if (head.agentId === request.agent_id && head.fingerprint === fingerprintOf(request)) {
      return { kind: "duplicate", request, firstEntryId: head.entryId };
    }
    return {
      kind: "garbage",
      reason: `id '${request.request_id}' already names a different request (stream entry ${head.entryId}); a new request needs a new id`,
      cause: "id_reused",
    };
  }
  if (head.state && isTerminal(head.state)) return { kind: "finished", request, state: head.state };

  let state = head.state;
  let directRefusal: PolicyRefusal | undefined;
  if (state === undefined) {
    // Written straight to the stream (or its record expired): no intake checked it, so the runner
    // does. An entry that names no usable agent is not a request of anyone's: dead-lettered.
    const check = await deps.checkDirect(request, d.id);
    if (!check.ok) {
      if (check.code === "unknown_agent" || check.code === "revoked" || check.code === "direct_entries_off") {
        return {
          kind: "garbage",
          reason: check.reason,
          cause: check.code === "direct_entries_off" ? "direct_entries_off" : "unknown_agent",
        };
      }
      directRefusal = new PolicyRefusal(check.code, check.reason);
    }
    const created = await deps.status.move(request.request_id, "queued", {
      create: recordFields(request, d.id),
      detail: direct
        ? "read from the stream (written without the intake)"
        : "status record recreated by the runner",
    });
    state = created.ok ? "queued" : (created.current ?? "queued");
    if (isTerminal(state)) return { kind: "finished", request, state };
  }
  if (directRefusal) return { kind: "refused", request, refusal: directRefusal };
  if (d.deliveries > deps.maxDeliveries) return { kind: "exhausted", request };

  try {
    await deps.deployer.validate(request);
  } catch (err) {
    if (err instanceof PolicyRefusal) return { kind: "refused", request, refusal: err };
    return { kind: "error", request, error: err };
  }
  return { kind: "valid", request, state, direct };
};
