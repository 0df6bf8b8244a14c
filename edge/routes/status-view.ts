/**
 * The public view of a request's status hash and timeline. Fields the runner adds later
 * (revision, image, health_log, coalesced_into, …) are passed through under `result`, so the
 * intake need not change when the runner learns to say more.
 */
const CORE = new Set([
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
]);

const parseJson = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export const statusView = (status: Record<string, string>, events: Array<Record<string, string>>) => {
  const result: Record<string, string> = {};
  for (const [k, v] of Object.entries(status)) if (!CORE.has(k)) result[k] = v;
  return {
    request_id: status.request_id,
    agent_id: status.agent_id,
    target_agent: status.target_agent,
    action: status.action,
    status: status.state,
    detail: status.detail ?? null,
    created_at: status.created_at,
    updated_at: status.updated_at,
    request: parseJson(status.request) ?? null,
    result,
    timeline: events.map((e) => ({ state: e.state, at: e.at, detail: e.detail || null })),
  };
};
