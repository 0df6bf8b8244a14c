import { hostname } from "node:os";
import { z } from "zod";
import { parseEnv } from "../shared/config/parse.js";
import { envInt as int, keyPrefix, portNumber, redisUrl } from "../shared/config/rules.js";
import { durationSchema, rateSchema } from "../shared/config/units.js";
import { targetName } from "../shared/protocol/index.js";

const duration = (def: string) => durationSchema.prefault(def);

const targetList = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== ""),
  )
  .pipe(z.array(targetName).min(1, "list at least one target, or leave HYPERCODE_TARGETS unset"));

const runnerEnvSchema = (defaultRunnerId: string) =>
  z
    .object({
      REDIS_URL: redisUrl.default("redis://127.0.0.1:6379"),
      KEY_PREFIX: keyPrefix,
      RUNNER_ID: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{1,128}$/, "1 to 128 letters, digits, '.', '_', ':' or '-'")
        .default(defaultRunnerId),
      // Compose files often pass an unset variable through as "": that means no allowlist.
      HYPERCODE_TARGETS: z.preprocess((v) => (v === "" ? undefined : v), targetList.optional()),
      CLAIM_IDLE: duration("30s"),
      HEARTBEAT: durationSchema.optional(),
      MAX_DELIVERIES: int(5, 1, 100),
      RETRY_BASE: duration("1s"),
      RETRY_MAX: duration("60s"),
      LOCK_TTL: duration("30s"),
      STREAM_RETENTION: duration("24h"),
      TRIM_INTERVAL: duration("1m"),
      PUBLISH_INTERVAL: duration("10s"),
      RUNNER_PORT: portNumber.default(9464),
      // Every interface by default: Prometheus scrapes the runner from another container.
      RUNNER_HOST: z.string().min(1).default("0.0.0.0"),
      HEALTH_TIMEOUT: duration("60s"),
      STOP_GRACE: duration("30s"),
      STATUS_TTL: duration("7d"),
      STATUS_STREAM_MAXLEN: int(100_000, 1000, 10_000_000),
      DEAD_LETTER_MAXLEN: int(100_000, 1000, 10_000_000),
      // Entries agents XADD themselves: checked like a submission over HTTP, or refused outright.
      DIRECT_ENTRIES: z.enum(["checked", "off"]).default("checked"),
      // The intake's default change budget of a target, for direct entries (a label overrides it).
      TARGET_BUDGET: rateSchema.prefault("20/hour"),
      // The Ed25519 private key webhooks are signed with (PKCS#8 PEM); unset: a fresh one per start.
      WEBHOOK_KEY_FILE: z.preprocess((v) => (v === "" ? undefined : v), z.string().optional()),
      LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    })
    .superRefine((e, ctx) => {
      // A heartbeat slower than the claim idle time would let other runners steal healthy work.
      if (e.HEARTBEAT !== undefined && e.HEARTBEAT >= e.CLAIM_IDLE) {
        ctx.addIssue({ code: "custom", path: ["HEARTBEAT"], message: "must be shorter than CLAIM_IDLE" });
      }
      if (e.RETRY_MAX < e.RETRY_BASE) {
        ctx.addIssue({ code: "custom", path: ["RETRY_MAX"], message: "must not be shorter than RETRY_BASE" });
      }
    })
    .transform((e) => ({
      redisUrl: e.REDIS_URL,
      keyPrefix: e.KEY_PREFIX,
      runnerId: e.RUNNER_ID,
      /** Narrows the targets the Docker side serves; undefined: every opted-in target. */
      targets: e.HYPERCODE_TARGETS,
      claimIdleMs: e.CLAIM_IDLE,
      heartbeatMs: e.HEARTBEAT ?? Math.max(1, Math.floor(e.CLAIM_IDLE / 3)),
      maxDeliveries: e.MAX_DELIVERIES,
      retryBaseMs: e.RETRY_BASE,
      retryMaxMs: e.RETRY_MAX,
      lockTtlMs: e.LOCK_TTL,
      streamRetentionMs: e.STREAM_RETENTION,
      trimIntervalMs: e.TRIM_INTERVAL,
      publishIntervalMs: e.PUBLISH_INTERVAL,
      port: e.RUNNER_PORT,
      host: e.RUNNER_HOST,
      healthTimeoutMs: e.HEALTH_TIMEOUT,
      stopGraceMs: e.STOP_GRACE,
      statusTtlMs: e.STATUS_TTL,
      statusStreamMaxLen: e.STATUS_STREAM_MAXLEN,
      deadLetterMaxLen: e.DEAD_LETTER_MAXLEN,
      logLevel: e.LOG_LEVEL,
      directEntries: e.DIRECT_ENTRIES,
      targetBudget: e.TARGET_BUDGET,
      webhookKeyFile: e.WEBHOOK_KEY_FILE,
    }));

export type RunnerConfig = z.output<ReturnType<typeof runnerEnvSchema>>;

/** Parses the runner's environment once, at start; a bad value throws ConfigError naming it. */
export const parseRunnerConfig = (
  env: Record<string, unknown>,
  defaultRunnerId = `${hostname()}-${process.pid}`,
): RunnerConfig =>
  parseEnv("runner", runnerEnvSchema(defaultRunnerId.replace(/[^A-Za-z0-9._:-]/g, "-").slice(0, 128)), env);
