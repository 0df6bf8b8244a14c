export type RedisArg = string | number;

/**
 * Everything the intake and the CLI need from Redis: scripts, and a liveness check. Kept this
 * narrow on purpose, so that any client fits (ioredis on Node, @upstash/redis over HTTP on
 * Workers) and one conformance suite proves each adapter.
 *
 * Adapters throw `StoreUnavailableError` when Redis cannot be reached, `NoScriptError` on
 * NOSCRIPT and `StoreCommandError` for any other error reply.
 */
export interface RedisPort {
  evalsha(sha1: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown>;
  eval(source: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown>;
  ping(): Promise<void>;
}
