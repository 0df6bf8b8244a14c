// A real runner process for the crash and shutdown tests: the runner as it ships, with a stand-in
// deployer that takes DEPLOY_MS (stopping early if its signal aborts) and records each deploy's
// start and end in Redis, where the test process can see them.
import { pino } from "pino";
import { parseRunnerConfig } from "../../runner/config.js";
import type { Deployer, TargetCatalog } from "../../runner/ports.js";
import { createRunner } from "../../runner/runner.js";
import { stopOnSignals } from "../../runner/signals.js";
import { createIoredisClient } from "../../shared/redis/ioredis-adapter.js";

const config = parseRunnerConfig(process.env);
const log = pino({ level: config.logLevel, base: { runner_id: config.runnerId } });
const redis = createIoredisClient(config.redisUrl, { enableOfflineQueue: true });
const events = `${config.keyPrefix}test:deploys`;
const deployMs = Number(process.env.DEPLOY_MS ?? "0");

const deployer: Deployer = {
  async validate() {},
  async deploy(ctx) {
    const id = ctx.request.request_id;
    // Recorded once `deploying` is: a test that kills the runner on "start" finds that state.
    await ctx.progress("deploying", "rolling out");
    await redis.rpush(events, `start ${config.runnerId} ${id} ${ctx.fence}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, deployMs);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    });
    await redis.rpush(events, `end ${config.runnerId} ${id} ${ctx.fence}`);
    return { state: "succeeded", detail: `deployed by ${config.runnerId}` };
  },
};
const catalog: TargetCatalog = {
  list: async () => [{ name: "test-agent", actions: ["redeploy"], replicas: 1 }],
};

const runner = createRunner({ redis, deployer, catalog, config, log });
stopOnSignals(async () => {
  await runner.stop();
  await redis.quit();
}, log);
await runner.start();
