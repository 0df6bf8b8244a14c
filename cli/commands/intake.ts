import { startNodeIntake } from "../../edge/node/server.js";
import { type Command, expectPositionals, parseCommandLine } from "../command.js";
import { readEnv, requireEnv } from "../env.js";
import { EXIT, explainListenError } from "../errors.js";
import { checkRedis, displayUrl } from "../redis.js";
import { armStopSignal, serveUntilStopped } from "../stop-signal.js";

export const intakeCommand: Command = {
  words: ["intake"],
  summary: "serve only the intake (HTTP API for agents) on Node, against REDIS_URL",
  help: `Usage: hypercode intake

Serves the intake on HOST:PORT until SIGINT or SIGTERM, against the Redis at REDIS_URL
(required: this command never starts a Redis of its own; 'hypercode up' does).

Options:
  -h, --help  show this help

Environment:
  REDIS_URL              the Redis to use (required)
  PORT                   port (default 8787; 0 picks a free one)
  HOST                   address (default 127.0.0.1; 0.0.0.0 for every interface)
  KEY_PREFIX             prefix of every Redis key (default none)
  TARGET_BUDGET          accepted requests per target, e.g. 20/hour (default 20/hour)
  MAX_BODY_BYTES         largest request body (default 65536)
  IDEMPOTENCY_TTL        how long an Idempotency-Key is remembered (default 24h)
  STATUS_TTL             how long a request's status is kept (default 7d)
  STATUS_STREAM_MAXLEN   approximate length cap of the status stream (default 100000)
  FEED_POLL              how often a live status feed looks for new transitions (default 500ms)
  FEED_MAX               a live feed closes after this long; clients resume with Last-Event-ID (default 5m)
  FEEDS_PER_AGENT        live status feeds one agent may hold open at once (default 20)
  PUBLIC_URL             the intake's public address, for status_url (default none: a relative path)
  HEADERS_TIMEOUT        how long a client may take to send its request headers (default 10s)
  REQUEST_TIMEOUT        how long a client may take to send a whole request (default 30s)`,
  async run(argv, ctx) {
    armStopSignal(ctx);
    const { positionals } = parseCommandLine("intake", argv, {});
    expectPositionals("intake", positionals, []);
    const env = readEnv(["REDIS_URL", "PORT", "HOST"], ctx.env);
    const redisUrl = requireEnv(
      "REDIS_URL",
      env.REDIS_URL,
      "(the intake's Redis, e.g. redis://127.0.0.1:6379)",
    );
    await checkRedis(redisUrl);
    const intake = await startNodeIntake({ redisUrl, port: env.PORT, host: env.HOST, env: ctx.env }).catch(
      (err) => {
        throw explainListenError(err, `${env.HOST}:${env.PORT}`, "PORT or HOST");
      },
    );
    ctx.out(
      `Intake listening on ${intake.url} (Redis ${displayUrl(redisUrl)}). Stop with Ctrl-C or SIGTERM.`,
    );
    await serveUntilStopped(ctx, [() => intake.close()]);
    return EXIT.ok;
  },
};
