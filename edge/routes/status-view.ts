/**
 * The public view of a request's status hash and timeline. Fields the runner adds later
 * (revision, image, health_log, coalesced_into, …) are passed through under `result`, so the
 * intake need not change when the runner learns to say more.
 */
const NOT_RESULTS: ReadonlySet<string> = new Set([...STATUS_CORE_FIELDS, ...STATUS_BOOKKEEPING_FIELDS]);

const parseJson = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

import type { StatusView } from "../../shared/protocol/http.js";
import {
  evolutionStatusOf,
  type RequestState,
  STATUS_BOOKKEEPING_FIELDS,
  STATUS_CORE_FIELDS,
} from "../../shared/protocol/index.js";

export const statusView = (
  status: Record<string, string>,
  events: Array<Record<string, string>>,
): StatusView => {
  const result: Record<string, string> = {};
  for (const [k, v] of Object.entries(status)) if (!NOT_RESULTS.has(k)) result[k] = v;
  return {
    request_id: status.request_id ?? "",
    agent_id: status.agent_id ?? "",
    target_agent: status.target_agent ?? "",
    action: status.action as StatusView["action"],
    status: status.state as StatusView["status"],
    evolution_status: evolutionStatusOf(
      status.state as RequestState,
      status.carrier_state as RequestState | undefined,
    ),
    detail: status.detail ?? null,
    created_at: status.created_at ?? "",
    updated_at: status.updated_at ?? "",
    request: (parseJson(status.request) as StatusView["request"]) ?? null,
    result,
    timeline: events.map((e) => ({
      state: e.state as StatusView["status"],
      at: e.at ?? "",
      detail: e.detail || null,
    })),
  };
};
