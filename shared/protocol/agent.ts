import * as z from "zod";
import { actionName } from "./payload.js";
import { agentId, targetName } from "./slug.js";

/** `*` in an agent's targets means every target some runner has enabled. */
export const ANY_TARGET = "*";

export const agentScope = z.object({
  targets: z.array(z.union([targetName, z.literal(ANY_TARGET)])).min(1),
  actions: z.array(actionName).min(1),
});

/** An agent as `agents list` shows it; the key itself is never stored, only its SHA-256. */
export const agentRecord = agentScope.extend({
  agent_id: agentId,
  rate_limit: z.number().int().positive(),
  rate_window_ms: z.number().int().positive(),
  created_at: z.string(),
  revoked_at: z.string().optional(),
  /** URL prefixes allowed as callback_url (canonical, ending in '/'). */
  callbacks: z.array(z.string()).default([]),
});
export type AgentRecord = z.infer<typeof agentRecord>;
