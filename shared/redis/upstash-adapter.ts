import { Redis } from "@upstash/redis/cloudflare";
import { isNoScript, NoScriptError, StoreCommandError, StoreUnavailableError } from "../errors.js";
import type { RedisArg, RedisPort } from "./port.js";

export interface UpstashOptions {
  url: string;
  token: string;
}

/**
 * Replies raw (no automatic JSON parsing, which would turn some strings into numbers) and without
 * the client's own retries: a Worker answers 503 at once and the agent retries, which is cheaper
 * than holding a request open through five backoffs.
 */
export const createUpstashClient = ({ url, token }: UpstashOptions): Redis =>
  new Redis({ url, token, automaticDeserialization: false, retry: false, enableTelemetry: false });

const classify = (err: unknown): Error => {
  const message = err instanceof Error ? err.message : String(err);
  // UpstashError is the server's error reply; anything else (fetch failed, bad gateway) is transport.
  if (err instanceof Error && err.name === "UpstashError") {
    if (/^(?:Redis is unavailable|ERR Redis unavailable)/.test(message)) {
      return new StoreUnavailableError(message, { cause: err });
    }
    return isNoScript(message) ? new NoScriptError(message) : new StoreCommandError(message);
  }
  return new StoreUnavailableError(`Redis is unavailable: ${message}`, { cause: err });
};

export class UpstashAdapter implements RedisPort {
  constructor(readonly client: Redis) {}

  async evalsha(sha1: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    try {
      return await this.client.evalsha(sha1, [...keys], [...args]);
    } catch (err) {
      throw classify(err);
    }
  }

  async eval(source: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    try {
      return await this.client.eval(source, [...keys], [...args]);
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
