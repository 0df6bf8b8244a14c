import { parseRunnerConfig, startRunner } from "../../runner/main.js";
import { type Command, expectPositionals, parseCommandLine } from "../command.js";
import { EXIT } from "../errors.js";
import { checkRedis, displayUrl } from "../redis.js";
import { armStopSignal, serveUntilStopped } from "../stop-signal.js";

export const runnerCommand: Command = {
  words: ["runner"],
  summary: "run the runner beside the Docker socket: consume requests, rebuild and redeploy targets",
  help: `Usage: hypercode runner

Runs the runner until SIGINT or SIGTERM: it consumes the request stream in the consumer group,
publishes the targets it serves (containers labelled hypercode.enable=true), and carries requests
out with zero downtime, through the Docker engine at DOCKER_HOST (default the local socket).
On a stop signal it finishes or hands back the job in hand (STOP_GRACE), then exits 0.
It logs JSON lines (pino) on stdout; GET /healthz and /metrics are served on RUNNER_HOST:RUNNER_PORT.

Options:
  -h, --help  show this help

Environment:
  REDIS_URL             where Redis is (default redis://127.0.0.1:6379)
  KEY_PREFIX            prefix of every Redis key (default none; must match the intake's)
  DOCKER_HOST           the Docker engine (default the local socket, /var/run/docker.sock)
  RUNNER_ID             this runner's name in the consumer group and in locks (default <hostname>-<pid>)
  HYPERCODE_TARGETS     comma-separated targets this runner may serve (default every opted-in one)
  CLAIM_IDLE            entries idle this long are taken over from a dead runner (default 30s)
  HEARTBEAT             how often entries in hand are marked alive (default CLAIM_IDLE / 3)
  MAX_DELIVERIES        deliveries before an entry goes to the dead-letter stream (default 5)
  RETRY_BASE            first retry delay after a transient failure (default 1s)
  RETRY_MAX             longest retry delay (default 60s)
  LOCK_TTL              a target lock's expiry; renewed while the deploy runs (default 30s)
  STREAM_RETENTION      acknowledged entries older than this are trimmed (default 24h)
  TRIM_INTERVAL         how often to trim (default 1m)
  PUBLISH_INTERVAL      how often served targets are published (default 10s)
  RUNNER_PORT           port of /healthz and /metrics (default 9464)
  RUNNER_HOST           address of /healthz and /metrics (default 0.0.0.0)
  HEALTH_TIMEOUT        how long a new container may take to become healthy (default 60s)
  STOP_GRACE            how long a stop waits for the job in hand (default 30s)
  STATUS_TTL            how long a request's status is kept (default 7d)
  STATUS_STREAM_MAXLEN  approximate length cap of the status stream (default 100000)
  DEAD_LETTER_MAXLEN    approximate length cap of the dead-letter stream (default 100000)
  DIRECT_ENTRIES        entries agents XADD themselves: checked (held to the named agent's scope
                        and limits, the default) or off (dead-lettered)
  TARGET_BUDGET         a target's default change budget for direct entries (default 20/hour)
  WEBHOOK_KEY_FILE      Ed25519 private key (PKCS#8 PEM) webhooks are signed with (default a fresh
                        key per start, in memory only; its public half is served at /v1/webhook-keys)
  LOG_LEVEL             fatal, error, warn, info, debug, trace or silent (default info)`,
  async run(argv, ctx) {
    armStopSignal(ctx);
    const { positionals } = parseCommandLine("runner", argv, {});
    expectPositionals("runner", positionals, []);
    // Parsed here too, so a bad variable or an unreachable Redis is reported before anything starts.
    const config = parseRunnerConfig(ctx.env);
    await checkRedis(config.redisUrl);
    const r = await startRunner(ctx.env, { handleSignals: false });
    const { runnerId, redisUrl, host } = r.config;
    ctx.err(
      `hypercode: runner ${runnerId} started (Redis ${displayUrl(redisUrl)}, /healthz and /metrics on ${host}:${r.runner.port ?? r.config.port}). Stop with Ctrl-C or SIGTERM.`,
    );
    await serveUntilStopped(ctx, [() => r.stop()]);
    return EXIT.ok;
  },
};
