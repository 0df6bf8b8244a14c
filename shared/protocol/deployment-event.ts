import * as z from "zod";
import { requestId } from "./improvement-request.js";
import { actionName } from "./payload.js";
import { type RequestState, requestState } from "./status.js";
import type { StatusRecord } from "./status-record.js";
import { EVOLUTION_STATUSES, evolutionStatusOf } from "./upstream.js";

/**
 * What the original HyperCode system's agents listen for once a request is done: a Redis pub/sub
 * message (not a stream entry) on one of two channels (CHANNELS in shared/keys.ts). Its DevOps listener published
 * `{request_id, agent, logs}` on success and `{request_id, error}` on failure; the runner publishes
 * those fields, the result model's `success` and `new_image_id`, and what it knows besides.
 */
const common = {
  /** The agent's own `id` when it gave one, else the id the intake or runner assigned. */
  request_id: z.string(),
  /** The target, as upstream's listener named it. */
  agent: z.string(),
  agent_id: z.string(),
  /** What the request asked for (as written, for an entry the runner could not read). */
  action: z.string(),
  state: requestState,
  evolution_status: z.enum(EVOLUTION_STATUSES),
  detail: z.string(),
  revision: z.string().optional(),
  image: z.string().optional(),
  new_image_id: z.string().optional(),
  /** `rebuild` when a `redeploy` was carried out as a rebuild (the target's hypercode.redeploy label). */
  carried_out_as: actionName.optional(),
  /** Set when another request's deploy carried this one out. */
  coalesced_into: z.string().optional(),
};

export const deploymentSuccess = z.object({ ...common, success: z.literal(true), logs: z.string() });
export const deploymentFailure = z.object({ ...common, success: z.literal(false), error: z.string() });
export const deploymentEvent = z.discriminatedUnion("success", [deploymentSuccess, deploymentFailure]);
export type DeploymentEvent = z.infer<typeof deploymentEvent>;

const SUCCESS: ReadonlySet<RequestState> = new Set(["succeeded"]);

/**
 * The event for a finished request, from its status record. A coalesced request ends as its
 * carrier did (`outcome`), so the agent hears the truth about the deploy that did its work.
 */
export const deploymentEventOf = (
  status: StatusRecord,
  timeline: string,
  outcome: RequestState = status.state,
): DeploymentEvent => {
  const { state } = status;
  const fields = {
    request_id: status.request_id,
    agent: status.target_agent,
    agent_id: status.agent_id,
    action: status.action,
    state,
    evolution_status: evolutionStatusOf(state, outcome),
    detail: status.detail ?? "",
    revision: status.revision || undefined,
    image: status.image || undefined,
    new_image_id: status.image_id || undefined,
    carried_out_as: status.carried_out_as,
    coalesced_into: status.coalesced_into || undefined,
  };
  if (SUCCESS.has(outcome)) return { ...fields, success: true, logs: timeline };
  const error = [status.detail, status.build_log, status.health_log].filter(Boolean).join("\n");
  return { ...fields, success: false, error: error || state };
};

/** A request's timeline as the lines upstream's `logs` held: what happened, in order. */
export const timelineText = (events: readonly Readonly<Record<string, string | undefined>>[]): string =>
  events.map((e) => `${e.at ?? ""} ${e.state ?? ""}${e.detail ? `: ${e.detail}` : ""}`).join("\n");

/**
 * The failure event for an entry the runner dead-lettered without a status record (an action it
 * does not know, an agent no operator registered, direct entries turned off), when it still names
 * an id and a target: its agent is waiting on that id. Nothing here is trusted; it only says the
 * entry was refused, and why.
 */
export const unrecordedEntryEventOf = (
  rawPayload: string | undefined,
  reason: string,
): DeploymentEvent | undefined => {
  let json: unknown;
  try {
    json = JSON.parse(rawPayload ?? "");
  } catch {
    return undefined;
  }
  if (json === null || typeof json !== "object") return undefined;
  const o = json as Record<string, unknown>;
  const id = requestId.safeParse(o.id ?? o.request_id);
  const text = (v: unknown): string => (typeof v === "string" ? v.slice(0, 128) : "");
  if (!id.success || !text(o.target_agent)) return undefined;
  const payload = o.payload as Record<string, unknown> | null | undefined;
  return {
    request_id: id.data,
    agent: text(o.target_agent),
    agent_id: text(o.agent_id),
    action: text(payload?.action),
    state: "dead_lettered",
    evolution_status: "failed",
    detail: reason,
    success: false,
    error: reason,
  };
};
