import { resolve } from "node:path";
import Dockerode from "dockerode";
import { parseIntakeConfig, startNodeIntake } from "../../edge/node/server.js";
import { type StartedRunner, startRunner } from "../../runner/main.js";
import { type Command, expectPositionals, parseCommandLine } from "../command.js";
import { readEnv } from "../env.js";
import { CliError, EXIT, explainListenError } from "../errors.js";
import { type LocalRedis, RedisServerMissingError, startLocalRedis } from "../local-redis.js";
import { checkRedis, displayUrl } from "../redis.js";
import { armStopSignal } from "../stop-signal.js";

/** Where `up` keeps its private Redis data (AOF), relative to the directory it runs in. */
export const LOCAL_REDIS_DIR = ".hypercode/redis";

const startPrivateRedis = async (): Promise<LocalRedis> => {
  try {
    return await startLocalRedis({ dir: resolve(LOCAL_REDIS_DIR), ownProcessGroup: true });
  } catch (err) {
    if (err instanceof RedisServerMissingError) throw new CliError(err.message);
    throw err;
  }
};

/** Resolves when a private redis-server ends by itself, with the exit code `up` should end with. */
const whenRedisEnds = (redis: LocalRedis): Promise<{ exitCode: number; message: string }> =>
  new Promise((done) =>
    redis.process.once("exit", (code, signal) =>
      // Redis exits 0 after a SIGTERM or SHUTDOWN: someone asked it to stop (not a Ctrl-C in the
      // terminal: it has a process group of its own). Anything else is a crash, and the intake
      // cannot work without it.
      code === 0
        ? done({ exitCode: EXIT.ok, message: "redis-server shut down: stopping..." })
        : done({
            exitCode: EXIT.failed,
            message: `redis-server stopped unexpectedly (${signal ?? `exit code ${code}`}): stopping...`,
          }),
    ),
  );

/**
 * The runner needs a Docker engine; a laptop without one still gets a working intake, and the
 * line printed says why no runner runs.
 */
const startRunnerIfDocker = async (
  env: Record<string, string | undefined>,
): Promise<{ started?: StartedRunner; line: string }> => {
  try {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Dockerode().ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer within 2 s")), 2000);
      }),
    ]).finally(() => clearTimeout(timer));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return {
      line: `not started: no Docker engine answered (${why}); requests wait in the stream until 'hypercode runner' runs beside one`,
    };
  }
  const started = await startRunner(env, { handleSignals: false });
  return {
    started,
    line: `${started.config.runnerId}  (GET http://127.0.0.1:${started.runner.port}/metrics; logs below)`,
  };
};

export const upCommand: Command = {
  words: ["up"],
  summary: "run the pipeline locally: intake, runner (if Docker answers), and a private redis-server",
  help: `Usage: hypercode up

Runs the pipeline on this machine until Ctrl-C (SIGINT) or SIGTERM:
  - Redis: the one at REDIS_URL if set; otherwise a private redis-server (from the PATH) on a free
    loopback port, keeping its data (append-only file) in ./${LOCAL_REDIS_DIR}
  - the intake (HTTP API for agents) on HOST:PORT
  - the runner, if a Docker engine answers at DOCKER_HOST (default the local socket); without
    one, requests are accepted and wait in the stream until a runner starts
It prints the intake's address, the Redis URL, and the command that creates the first agent key.

Options:
  -h, --help  show this help

Environment:
  REDIS_URL   use this Redis instead of starting one (e.g. redis://127.0.0.1:6379)
  PORT        the intake's port (default 8787; 0 picks a free one)
  HOST        the intake's address (default 127.0.0.1)
  KEY_PREFIX  prefix of every Redis key (default none)
  RUNNER_PORT the runner's /healthz and /metrics port (default 9464; 0 picks a free one)
  RUNNER_HOST their address (default HOST)
  and the intake's and the runner's own settings: see 'hypercode intake --help', 'hypercode runner --help'.`,
  async run(argv, ctx) {
    const stopSignal = armStopSignal(ctx);
    const { positionals } = parseCommandLine("up", argv, {});
    expectPositionals("up", positionals, []);
    const env = readEnv(["REDIS_URL", "KEY_PREFIX", "PORT", "HOST"], ctx.env);
    // The intake parses its settings again when it starts; checking them first means a bad value
    // stops `up` before it has started a redis-server.
    parseIntakeConfig(ctx.env);

    const closers: (() => Promise<void>)[] = [];
    let running = false;
    try {
      let redisUrl = env.REDIS_URL;
      let redisEnds: Promise<{ exitCode: number; message: string }> = new Promise(() => {});
      let redisLine: string;
      if (redisUrl) {
        await checkRedis(redisUrl);
        redisLine = `${displayUrl(redisUrl)}  (from REDIS_URL)`;
      } else {
        const redis = await startPrivateRedis();
        closers.unshift(() => redis.stop());
        redisUrl = redis.url;
        redisEnds = whenRedisEnds(redis);
        redisLine = `${redis.url}  (redis-server pid ${redis.process.pid}, data in ${resolve(LOCAL_REDIS_DIR)})`;
      }
      const intake = await startNodeIntake({ redisUrl, port: env.PORT, host: env.HOST, env: ctx.env }).catch(
        (err) => {
          throw explainListenError(err, `${env.HOST}:${env.PORT}`, "PORT or HOST");
        },
      );
      closers.unshift(() => intake.close());
      // The runner's /healthz and /metrics listen where the intake does unless told otherwise: a
      // laptop's `up` on 127.0.0.1 must not open the runner's port to the network.
      const runner = await startRunnerIfDocker({
        ...ctx.env,
        REDIS_URL: redisUrl,
        RUNNER_HOST: ctx.env.RUNNER_HOST || env.HOST,
      });
      const { started } = runner;
      if (started) closers.unshift(() => started.stop());

      const envPrefix = [
        `REDIS_URL=${displayUrl(redisUrl)}`,
        ...(env.KEY_PREFIX ? [`KEY_PREFIX=${env.KEY_PREFIX}`] : []),
      ];
      ctx.out(
        [
          "HyperCode is running.",
          "",
          `  intake  ${intake.url}  (GET /healthz, POST /v1/improvements)`,
          `  redis   ${redisLine}`,
          `  runner  ${runner.line}`,
          "",
          "Create the first agent key (in another terminal, from this directory):",
          "",
          `  ${envPrefix.join(" ")} ${ctx.invocation} agents add my-agent --targets my-service --actions restart,redeploy`,
          "",
          "Press Ctrl-C to stop.",
        ].join("\n"),
      );

      running = true;
      const outcome = await Promise.race([
        stopSignal.then((signal) => ({ exitCode: EXIT.ok, message: `${signal}: stopping...` })),
        redisEnds,
      ]);
      ctx.err(`hypercode: ${outcome.message}`);
      return outcome.exitCode;
    } finally {
      for (const close of closers) await close();
      if (running) ctx.err("hypercode: stopped.");
    }
  },
};
