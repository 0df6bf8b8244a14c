import { Redis, type RedisOptions, ReplyError } from "ioredis";
import { isNoScript, NoScriptError, StoreCommandError, StoreUnavailableError } from "../errors.js";
import type { RedisArg, RedisPort } from "./port.js";

/**
 * Options for a client that fails fast instead of queueing commands while Redis is away, so a
 * request answers 503 at once rather than hanging; ioredis keeps reconnecting in the background.
 */
export const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  connectTimeout: 2000,
  retryStrategy: (times) => Math.min(times * 100, 1000),
};

export const createIoredisClient = (url: string, options: RedisOptions = {}): Redis =>
  new Redis(url, { ...FAIL_FAST, lazyConnect: false, ...options });

const classify = (err: unknown): Error => {
  const message = err instanceof Error ? err.message : String(err);
  // An error reply means Redis is there and answered; anything else is the connection.
  if (err instanceof ReplyError) {
    return isNoScript(message) ? new NoScriptError(message) : new StoreCommandError(message);
  }
  return new StoreUnavailableError(`Redis is unavailable: ${message}`, { cause: err });
};

export class IoredisAdapter implements RedisPort {
  constructor(readonly client: Redis) {}

  async evalsha(sha1: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    try {
      return await this.client.evalsha(sha1, keys.length, ...keys, ...args);
    } catch (err) {
      throw classify(err);
    }
  }

  async eval(source: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    try {
      return await this.client.eval(source, keys.length, ...keys, ...args);
    } catch (err) {
      throw classify(err);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.client.ping();
    } catch (err) {
      throw classify(err);
    }
  }
}
