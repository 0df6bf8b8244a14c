import { pathToFileURL } from "node:url";
import Dockerode from "dockerode";
import { type Logger, pino } from "pino";
import { ConfigError } from "../shared/config/parse.js";
import { createIoredisClient } from "../shared/redis/ioredis-adapter.js";
import { parseRunnerConfig, type RunnerConfig } from "./config.js";
import { createDockerSide } from "./docker/docker-side.js";
import { createRunner, type Runner } from "./runner.js";
import { stopOnSignals } from "./signals.js";

/** `hypercode runner` shows the settings a start would use: the same parse, without starting. */
export { parseRunnerConfig } from "./config.js";

export interface StartedRunner {
  readonly runner: Runner;
  readonly config: RunnerConfig;
  readonly log: Logger;
  /** Stops the runner and closes its connections. */
  stop(): Promise<void>;
}

/**
 * Starts a runner from environment variables, beside the Docker socket (dockerode honours
 * DOCKER_HOST). Throws ConfigError, naming the variable, before anything connects. With
 * `handleSignals`, SIGTERM/SIGINT stop it cleanly and end the process.
 */
export const startRunner = async (
  env: Record<string, string | undefined> = process.env,
  opts: { handleSignals?: boolean } = {},
): Promise<StartedRunner> => {
  const config = parseRunnerConfig(env);
  const log = pino({ level: config.logLevel, base: { runner_id: config.runnerId } });
  // Fail fast on each command (the loop retries), but wait for the first connection.
  const redis = createIoredisClient(config.redisUrl, { enableOfflineQueue: true });
  const { catalog, deployer } = createDockerSide({
    docker: new Dockerode(),
    allowlist: config.targets,
    healthTimeoutMs: config.healthTimeoutMs,
    log: log.child({ side: "docker" }),
  });
  const runner = createRunner({ redis, catalog, deployer, config, log });
  const stop = async () => {
    await runner.stop();
    await redis.quit().catch(() => redis.disconnect());
  };
  if (opts.handleSignals ?? true) stopOnSignals(stop, log);
  try {
    await runner.start();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { runner, config, log, stop };
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  startRunner().catch((err) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : (err?.stack ?? err)}\n`);
    process.exit(1);
  });
}
