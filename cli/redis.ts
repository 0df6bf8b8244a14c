import { StoreUnavailableError } from "../shared/errors.js";
import { createIoredisClient, IoredisAdapter } from "../shared/redis/ioredis-adapter.js";
import type { RedisPort } from "../shared/redis/port.js";
import { RedisUnreachableError } from "./errors.js";

/** The URL as it may be printed: a password in it is masked. */
export const displayUrl = (url: string): string => {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
};

const reasonOf = (err: unknown): string => {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^Redis is unavailable: /, "");
};

/**
 * Connects once, runs `fn`, and always quits, so a one-shot command exits as soon as it is done.
 * A CLI has no use for ioredis's background reconnects: a connection that fails is reported at once.
 */
export const withRedis = async <T>(url: string, fn: (redis: RedisPort) => Promise<T>): Promise<T> => {
  // disconnectTimeout: ioredis keeps a timer of that length alive after disconnect(), which would
  // hold a CLI that failed to connect open for 2 s.
  const client = createIoredisClient(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    disconnectTimeout: 100,
  });
  // connect() only rejects with "Connection is closed."; the reason (ECONNREFUSED, ETIMEDOUT, a
  // wrong password) arrives as an error event first.
  let lastError: unknown;
  client.on("error", (err) => {
    lastError = err;
  });
  try {
    try {
      await client.connect();
    } catch (err) {
      throw new RedisUnreachableError(displayUrl(url), reasonOf(lastError ?? err));
    }
    try {
      return await fn(new IoredisAdapter(client));
    } catch (err) {
      if (err instanceof StoreUnavailableError)
        throw new RedisUnreachableError(displayUrl(url), reasonOf(err));
      throw err;
    }
  } finally {
    if (client.status === "ready") await client.quit().catch(() => client.disconnect());
    else client.disconnect();
  }
};

/** Fails with the CLI's message unless Redis answers PING; long-running commands check this first. */
export const checkRedis = (url: string): Promise<void> => withRedis(url, (redis) => redis.ping());
