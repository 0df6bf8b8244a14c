import type { Keys } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import type { ImprovementRequest, RefusalOf, ScriptReply } from "../shared/protocol/index.js";
import type { IoredisAdapter } from "../shared/redis/ioredis-adapter.js";
import { runJsonScript } from "../shared/redis/run-script.js";
import type { RunnerConfig } from "./config.js";

export type DirectRefusal = RefusalOf<"direct_admit">;
export type DirectCheck =
  | { ok: true }
  | { ok: false; code: DirectRefusal | "direct_entries_off"; reason: string };

const list = (v: unknown): string => (Array.isArray(v) && v.length > 0 ? v.join(", ") : "none");

/**
 * Entries agents XADD themselves skip the intake, so the runner applies its checks (direct_admit.lua):
 * a known, unrevoked agent, within its scope, within its rate limit and the target's budget. Redis
 * is not a trust boundary; this keeps a writer of the stream to what some agent's key may do.
 */
export const checkDirectEntry = async (
  store: IoredisAdapter,
  keys: Keys,
  config: Pick<RunnerConfig, "directEntries" | "targetBudget">,
  request: ImprovementRequest,
  entryId: string,
  now: number,
): Promise<DirectCheck> => {
  if (config.directEntries === "off") {
    return {
      ok: false,
      code: "direct_entries_off",
      reason:
        "entries written straight to the stream are turned off (DIRECT_ENTRIES=off): submit through the intake",
    };
  }
  const r = await runJsonScript<ScriptReply<object, "direct_admit">>(
    store,
    SCRIPTS.direct_admit,
    [
      keys.agent(request.agent_id),
      keys.targets,
      keys.agentRate(request.agent_id),
      keys.targetBudget(request.target_agent),
    ],
    [
      now,
      request.target_agent,
      request.payload.action,
      `${now}:${entryId}`,
      config.targetBudget.limit,
      config.targetBudget.windowMs,
    ],
  );
  if (r.ok) return r;
  const agent = request.agent_id;
  const reasons: Record<DirectRefusal, string> = {
    unknown_agent: `agent '${agent}' is not registered ('hypercode agents add ${agent}' registers it); a direct entry must name a known agent`,
    revoked: `agent '${agent}' was revoked at ${String(r.revoked_at)}`,
    target_out_of_scope: `agent '${agent}' may not request changes to '${request.target_agent}' (allowed: ${list(r.allowed)})`,
    action_out_of_scope: `agent '${agent}' may not request '${request.payload.action}' (allowed: ${list(r.allowed)})`,
    agent_rate_limited: `agent '${agent}' is over its rate limit (${String(r.limit)} per ${Math.round(Number(r.window_ms) / 1000)} s)`,
    target_budget_exhausted: `'${request.target_agent}' is over its change budget (${String(r.limit)} per ${Math.round(Number(r.window_ms) / 1000)} s)`,
  };
  return { ok: false, code: r.error, reason: reasons[r.error] };
};
