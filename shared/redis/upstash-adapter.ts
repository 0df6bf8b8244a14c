import { Redis } from "@upstash/redis/cloudflare";
import { isNoScript, NoScriptError, StoreCommandError, StoreUnavailableError } from "../errors.js";
import type { RedisArg, RedisPort } from "./port.js";

export interface UpstashOptions {
  url: string;
  token: string;
  /** Abandons a request after this long (default 5000 ms): fetch itself never gives up. */
  timeoutMs?: number;
}

/**
 * Replies raw (no automatic JSON parsing, which would turn some strings into numbers) and without
 * the client's own retries: a Worker answers 503 at once and the agent retries, which is cheaper
 * than holding a request open through five backoffs.
 */
export const createUpstashClient = ({ url, token, timeoutMs = 5000 }: UpstashOptions): Redis =>
  new Redis({
    url,
    token,
    automaticDeserialization: false,
    retry: false,
    enableTelemetry: false,
    // One HTTP request per call: the error text is the server's own, and an outage fails only
    // the calls it hits, not every call that happened to share an automatic pipeline.
    enableAutoPipelining: false,
    // A function, so every request gets its own deadline (one shared signal would expire once).
    signal: () => AbortSignal.timeout(timeoutMs),
  });

/** The client appends the whole command (a script's source, for EVAL) to the server's message. */
const serverMessage = (message: string): string => message.replace(/, command was: [\s\S]*$/, "");

const classify = (err: unknown): Error => {
  const message = serverMessage(err instanceof Error ? err.message : String(err));
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
