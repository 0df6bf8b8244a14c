import { generateApiKey, hashApiKey } from "../shared/api-key.js";
import type { Rate } from "../shared/config/units.js";
import { ScriptReplyError } from "../shared/errors.js";
import type { Keys } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import { type AgentRecord, ANY_TARGET, agentRecord } from "../shared/protocol/agent.js";
import type { ScriptReply } from "../shared/protocol/index.js";
import { ACTIONS, type Action } from "../shared/protocol/payload.js";
import { agentId as agentIdSchema, targetName } from "../shared/protocol/slug.js";
import type { RedisPort } from "../shared/redis/port.js";
import { asList, runJsonScript } from "../shared/redis/run-script.js";
import { normaliseCallbackPrefix } from "../shared/webhook.js";
import { type RevokeResult, revokeRecord, slugProblem } from "./credential-store.js";
import { CliError, EXIT } from "./errors.js";

/**
 * The operator's side of agent credentials: add, list, revoke. Each is one Lua script, so a
 * record is never half-written, and only the SHA-256 of a key ever reaches Redis.
 */

export interface NewAgent {
  agentId: string;
  targets: readonly string[];
  actions: readonly string[];
  rate: Rate;
  /** URL prefixes the agent may use as callback_url (normalised; see shared/webhook.ts). */
  callbacks?: readonly string[];
  /** Overwrite an agent that exists and is not revoked (its old key stops working). */
  replace?: boolean;
}

/** The input names no valid agent; nothing was written. */
export class AgentInputError extends CliError {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"), EXIT.usage);
  }
}

const agentIdProblem = (agentId: string): string | undefined => {
  const problem = slugProblem(agentIdSchema, agentId);
  return problem && `invalid agent id '${agentId}': ${problem}`;
};

/**
 * Every problem with the input, one line each, in the CLI's words; empty when it is valid. A rate
 * left out is not checked, so a caller that could not parse one can still list the other problems.
 */
export const agentInputProblems = (input: Omit<NewAgent, "rate"> & { rate?: Rate }): string[] => {
  const problems: string[] = [];
  const idProblem = agentIdProblem(input.agentId);
  if (idProblem) problems.push(idProblem);
  if (input.targets.length === 0)
    problems.push(`--targets needs at least one target (or '${ANY_TARGET}' for all)`);
  for (const t of input.targets) {
    const problem = t === ANY_TARGET ? undefined : slugProblem(targetName, t);
    if (problem) problems.push(`invalid target '${t}' in --targets: ${problem}`);
  }
  if (input.actions.length === 0) problems.push("--actions needs at least one action");
  for (const c of input.callbacks ?? []) {
    if (!normaliseCallbackPrefix(c)) {
      problems.push(
        `invalid callback prefix '${c}' in --callbacks: use an http(s) URL without credentials, query or fragment`,
      );
    }
  }
  for (const a of input.actions) {
    if (!(ACTIONS as readonly string[]).includes(a)) {
      problems.push(`unknown action '${a}' in --actions: choose from ${ACTIONS.join(", ")}`);
    }
  }
  const positive = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (input.rate && !(positive(input.rate.limit) && positive(input.rate.windowMs))) {
    problems.push("the rate must allow a positive whole number of requests per positive window");
  }
  return problems;
};

export type AddAgentResult =
  | { outcome: "created" | "replaced"; apiKey: string; agent: AgentRecord }
  /** An agent with that id exists and is not revoked; pass `replace` to overwrite it. */
  | { outcome: "exists" };

export const addAgent = async (
  redis: RedisPort,
  k: Keys,
  input: NewAgent,
  now: Date = new Date(),
): Promise<AddAgentResult> => {
  const problems = agentInputProblems(input);
  if (problems.length > 0) throw new AgentInputError(problems);
  const agent: AgentRecord = {
    agent_id: input.agentId,
    targets: [...new Set(input.targets)],
    actions: [...new Set(input.actions)] as Action[],
    rate_limit: input.rate.limit,
    rate_window_ms: input.rate.windowMs,
    created_at: now.toISOString(),
    callbacks: [...new Set((input.callbacks ?? []).map((c) => normaliseCallbackPrefix(c) as string))],
  };
  const apiKey = generateApiKey(agent.agent_id);
  const reply = await runJsonScript<ScriptReply<{ replaced: boolean }, "agent_put">>(
    redis,
    SCRIPTS.agent_put,
    [k.agent(agent.agent_id), k.agentIndex],
    [
      agent.agent_id,
      await hashApiKey(apiKey),
      JSON.stringify(agent.targets),
      JSON.stringify(agent.actions),
      agent.rate_limit,
      agent.rate_window_ms,
      agent.created_at,
      input.replace ? "1" : "0",
      JSON.stringify(agent.callbacks),
    ],
  );
  return reply.ok
    ? { outcome: reply.replaced ? "replaced" : "created", apiKey, agent }
    : { outcome: "exists" };
};

/** Every agent, sorted by id, without key hashes (the script drops them; the schema would too). */
export const listAgents = async (redis: RedisPort, k: Keys): Promise<AgentRecord[]> => {
  const reply = await runJsonScript<ScriptReply<{ agents: unknown }, "agents_list">>(
    redis,
    SCRIPTS.agents_list,
    [k.agentIndex],
    [k.agent("")],
  );
  return asList<Record<string, unknown>>(reply.ok ? reply.agents : []).map((a) => {
    // cjson writes an empty list as {}.
    const parsed = agentRecord.safeParse({ ...a, callbacks: asList(a.callbacks) });
    if (!parsed.success)
      throw new ScriptReplyError(`agents_list returned a malformed agent: ${parsed.error.message}`);
    return parsed.data;
  });
};

/** Revokes at once: the next request with that agent's key is refused as `revoked`. */
export const revokeAgent = async (
  redis: RedisPort,
  k: Keys,
  agentId: string,
  now: Date = new Date(),
): Promise<RevokeResult> => {
  const idProblem = agentIdProblem(agentId);
  if (idProblem) throw new AgentInputError([idProblem]);
  return revokeRecord(redis, k.agent(agentId), now);
};
