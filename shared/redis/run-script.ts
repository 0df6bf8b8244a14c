import { NoScriptError, ScriptReplyError } from "../errors.js";
import type { LuaScript } from "../lua/script.js";
import type { RedisArg, RedisPort } from "./port.js";

/** EVALSHA first (the usual case: one small request), EVAL once when the server lacks the script. */
export const runScript = async (
  redis: RedisPort,
  script: LuaScript,
  keys: readonly string[],
  args: readonly RedisArg[],
): Promise<unknown> => {
  try {
    return await redis.evalsha(script.sha1, keys, args);
  } catch (err) {
    if (!(err instanceof NoScriptError)) throw err;
    return await redis.eval(script.source, keys, args);
  }
};

/** Our scripts reply with one JSON object (see shared/lua/include/json_reply.lua). */
export const runJsonScript = async <T = Record<string, unknown>>(
  redis: RedisPort,
  script: LuaScript,
  keys: readonly string[],
  args: readonly RedisArg[],
): Promise<T> => {
  const raw = await runScript(redis, script, keys, args);
  if (typeof raw !== "string")
    throw new ScriptReplyError(`${script.name} replied with ${typeof raw}, not JSON`);
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new ScriptReplyError(`${script.name} replied with text that is not JSON`);
  }
};

/** cjson encodes an empty Lua table as `{}`; where a list is expected, that means `[]`. */
export const asList = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
