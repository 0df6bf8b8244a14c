import type * as z from "zod";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import type { ScriptReply } from "../shared/protocol/index.js";
import type { RedisPort } from "../shared/redis/port.js";
import { runJsonScript } from "../shared/redis/run-script.js";

/**
 * What agent keys and operator keys have in common: a record per id holding the key's SHA-256,
 * revoked at once and kept (so `list` shows when), and ids that are slugs.
 */

/** The slug schema's first complaint, without the field name it starts with (`agent_id must be…`). */
export const slugProblem = (schema: z.ZodType, value: string): string | undefined => {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? undefined
    : (parsed.error.issues[0]?.message ?? "invalid").replace(/^[a-z_]+ (?=must|is)/, "");
};

export type RevokeResult =
  | { outcome: "revoked"; revokedAt: string }
  | { outcome: "already_revoked"; revokedAt: string }
  | { outcome: "not_found" };

/** Revokes the key of any record with a `key_hash` (an agent's or an operator's). */
export const revokeRecord = async (
  redis: RedisPort,
  recordKey: string,
  now: Date = new Date(),
): Promise<RevokeResult> => {
  const revokedAt = now.toISOString();
  const reply = await runJsonScript<ScriptReply<object, "key_revoke">>(
    redis,
    SCRIPTS.key_revoke,
    [recordKey],
    [revokedAt],
  );
  if (reply.ok) return { outcome: "revoked", revokedAt };
  switch (reply.error) {
    case "not_found":
      return { outcome: "not_found" };
    case "already_revoked":
      return { outcome: "already_revoked", revokedAt: String(reply.revoked_at ?? "") };
  }
};
