import { sha256Hex } from "../shared/api-key.js";
import type { RedisPort } from "../shared/redis/port.js";
import type { IntakeConfig } from "./config.js";

/** Everything the intake app gets from outside; nothing in edge/app imports a runtime. */
export interface AppDeps {
  readonly redis: RedisPort;
  readonly config: IntakeConfig;
  /** Milliseconds since the epoch; injected so tests can move time. */
  readonly clock: () => number;
  /** A fresh request id (a UUID by default). */
  readonly newId: () => string;
  /**
   * SHA-256 as lowercase hex, for API keys and idempotency keys. WebCrypto (portable) when absent;
   * the Node entry injects node:crypto's, which does not queue a thread-pool job per hash.
   */
  readonly sha256Hex?: (text: string) => Promise<string>;
  /** Which runtime serves the app, for /healthz and logs. */
  readonly runtime: "node" | "workers";
}

/** The SHA-256 the app uses: the injected one, else WebCrypto's. One place for the default. */
export const hashOf = (deps: AppDeps): ((text: string) => Promise<string>) => deps.sha256Hex ?? sha256Hex;
