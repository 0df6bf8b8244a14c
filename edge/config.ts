import * as z from "zod";
import { parseEnv } from "../shared/config/parse.js";
import { blankIsUnset, envInt as int, keyPrefix } from "../shared/config/rules.js";
import { durationSchema, rateSchema } from "../shared/config/units.js";

/** What the intake app needs, on any runtime. Runtime-specific variables live in the entries. */
export const intakeEnvSchema = z
  .object({
    KEY_PREFIX: keyPrefix,
    TARGET_BUDGET: rateSchema.prefault("20/hour"),
    MAX_BODY_BYTES: int(65_536, 1024, 1_048_576),
    IDEMPOTENCY_TTL: durationSchema.prefault("24h"),
    STATUS_TTL: durationSchema.prefault("7d"),
    STATUS_STREAM_MAXLEN: int(100_000, 1000, 10_000_000),
    FEED_POLL: durationSchema.prefault("500ms"),
    FEED_MAX: durationSchema.prefault("5m"),
    FEEDS_PER_AGENT: int(20, 1, 10_000),
    PUBLIC_URL: blankIsUnset(
      z
        .url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://hypercode.example.com" })
        .refine((u) => !/[?#]/.test(u), "must have no query or fragment")
        .optional(),
    ),
  })
  .transform((e) => ({
    keyPrefix: e.KEY_PREFIX,
    targetBudget: e.TARGET_BUDGET,
    maxBodyBytes: e.MAX_BODY_BYTES,
    idempotencyTtlMs: e.IDEMPOTENCY_TTL,
    statusTtlMs: e.STATUS_TTL,
    statusStreamMaxLen: e.STATUS_STREAM_MAXLEN,
    /** How often the live feed looks for new transitions; one cheap script call per look. */
    feedPollMs: e.FEED_POLL,
    /** A feed closes after this long; the client reconnects with Last-Event-ID and loses nothing. */
    feedMaxMs: e.FEED_MAX,
    /** Live feeds one agent may hold open at once; each holds a connection and a poll loop. */
    feedsPerAgent: e.FEEDS_PER_AGENT,
    /**
     * The address agents and browsers use (behind a proxy, not what the app sees), without a
     * trailing slash. status_url is built from it, never from the Host header; unset, it is relative.
     */
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ""),
  }));

export type IntakeConfig = z.output<typeof intakeEnvSchema>;

export const parseIntakeConfig = (env: Record<string, unknown>): IntakeConfig =>
  parseEnv("intake", intakeEnvSchema, env);
