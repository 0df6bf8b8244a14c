import { setTimeout as sleep } from "node:timers/promises";
// A real runner (the queue side as it ships: consume, lock, coalesce, report) with a stand-in
// Deployer that takes DEPLOY_MS per deploy. The dispatch and scale benchmarks measure the queue,
// not Docker; each deploy logs "bench deploy" so the harness can count the deploys actually run.
import { pino } from "pino";
import { parseRunnerConfig } from "../../runner/config.js";
import type { Deployer, TargetCatalog } from "../../runner/ports.js";
import { createRunner } from "../../runner/runner.js";
import { createIoredisClient } from "../../shared/redis/ioredis-adapter.js";

const config = parseRunnerConfig(process.env);
const log = pino({ level: config.logLevel, base: { runner_id: config.runnerId } });
const redis = createIoredisClient(config.redisUrl, { enableOfflineQueue: true });
const deployMs = Number(process.env.DEPLOY_MS ?? "0");
const targets = (process.env.BENCH_TARGETS ?? "").split(",").filter(Boolean);

const deployer: Deployer = {
  async validate() {},
  async deploy(ctx) {
    log.info({ request_id: ctx.request.request_id, target: ctx.request.target_agent }, "bench deploy");
    await sleep(deployMs);
    return { state: "succeeded", detail: "bench deployer" };
  },
};
const catalog: TargetCatalog = {
  list: async () =>
    targets.map((name) => ({
      name,
      actions: ["redeploy"],
      replicas: 1,
      budget: { limit: 1_000_000_000, window_ms: 1000 },
    })),
};

const runner = createRunner({ redis, deployer, catalog, config, log });
process.once("SIGTERM", async () => {
  await runner.stop();
  await redis.quit();
  process.exit(0);
});
await runner.start();
