import type { Redis } from "ioredis";
import { addAgent } from "../cli/agents-store.js";
import { keys } from "../shared/keys.js";
import type { Action, PublishedTarget } from "../shared/protocol/index.js";
import { IoredisAdapter } from "../shared/redis/ioredis-adapter.js";

/**
 * An agent and targets the way an operator and a runner would set them up, with limits high and
 * windows short: the benchmarks measure the path, not the refusals, and the sliding-window sets
 * stay small.
 */
export const seedAgent = async (redis: Redis, agentId: string, targets: string[], actions: Action[]) => {
  const r = await addAgent(new IoredisAdapter(redis), keys(""), {
    agentId,
    targets,
    actions,
    rate: { limit: 1_000_000_000, windowMs: 1000 },
    replace: true,
  });
  if (r.outcome === "exists") throw new Error(`agent ${agentId} exists`);
  return r.apiKey;
};

/** Publishes targets as a runner does (the intake accepts only published targets). */
export const publishTargets = async (redis: Redis, targets: string[], actions: Action[]) => {
  for (const target of targets) {
    const t: PublishedTarget = {
      target,
      actions,
      runner_id: "bench",
      expires_at: Date.now() + 3_600_000,
      budget: { limit: 1_000_000_000, window_ms: 1000 },
    };
    await redis.hset(keys("").targets, target, JSON.stringify(t));
  }
};

export const submission = (target: string, action: Action, description = "Benchmark submission") =>
  JSON.stringify({
    target_agent: target,
    improvement_type: "performance",
    description,
    payload: { action },
  });

/** The environment of an intake process in the benchmarks: limits out of the way. */
export const intakeEnv = (redisUrl: string): Record<string, string> => ({
  REDIS_URL: redisUrl,
  TARGET_BUDGET: "1000000000/s",
  LOG_LEVEL: "silent",
});
