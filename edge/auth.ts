import type { Context } from "hono";
import { agentIdOfKey } from "../shared/api-key.js";
import { type AppDeps, hashOf } from "./deps.js";
import { problems } from "./http/problems.js";

/** A key as presented: which agent it claims to be, and its hash to check against the record. */
export interface PresentedKey {
  readonly agentId: string;
  readonly keyHash: string;
}

const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;

/**
 * Checks the shape of the Authorization header without touching Redis; whether the key is right
 * is decided by the Lua script that also does the request's work (one round trip).
 */
export const presentedKey = async (c: Context, deps: AppDeps): Promise<PresentedKey> => {
  const header = c.req.header("authorization");
  if (!header) throw problems.unauthenticated("send your agent key as 'Authorization: Bearer <key>'");
  const token = BEARER.exec(header)?.[1];
  if (!token) throw problems.unauthenticated("the Authorization header must be 'Bearer <key>'");
  const agentId = agentIdOfKey(token);
  if (!agentId) throw problems.unauthenticated("the key is not a HyperCode agent key (hc1.<agent>.<secret>)");
  return { agentId, keyHash: await hashOf(deps)(token) };
};
