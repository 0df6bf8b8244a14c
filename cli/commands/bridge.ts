import { startRestBridge } from "../../bridge/rest-bridge.js";
import { type Command, expectPositionals, parseCommandLine } from "../command.js";
import { readEnv, requireEnv } from "../env.js";
import { EXIT, explainListenError } from "../errors.js";
import { checkRedis, displayUrl } from "../redis.js";
import { armStopSignal, serveUntilStopped } from "../stop-signal.js";

export const bridgeCommand: Command = {
  words: ["bridge"],
  summary: "serve the Upstash-compatible REST bridge over REDIS_URL (for the Workers intake)",
  help: `Usage: hypercode bridge

Serves an HTTP bridge that speaks the Upstash REST protocol (POST /, /pipeline, /multi-exec,
Bearer token) over the Redis at REDIS_URL, so the Workers intake runs locally against a real
Redis. Runs until SIGINT or SIGTERM.

Options:
  -h, --help  show this help

Environment:
  REDIS_URL     the Redis to expose (required)
  BRIDGE_TOKEN  the Bearer token clients must send (required)
  BRIDGE_PORT   port (default: a free one, printed at start)
  BRIDGE_HOST   address (default 127.0.0.1)`,
  async run(argv, ctx) {
    armStopSignal(ctx);
    const { positionals } = parseCommandLine("bridge", argv, {});
    expectPositionals("bridge", positionals, []);
    const env = readEnv(["REDIS_URL", "BRIDGE_TOKEN", "BRIDGE_PORT", "BRIDGE_HOST"], ctx.env);
    const redisUrl = requireEnv("REDIS_URL", env.REDIS_URL, "(the Redis the bridge exposes)");
    const token = requireEnv("BRIDGE_TOKEN", env.BRIDGE_TOKEN, "(the Bearer token clients must send)");
    await checkRedis(redisUrl);
    const host = env.BRIDGE_HOST ?? "127.0.0.1";
    const bridge = await startRestBridge({ redisUrl, token, port: env.BRIDGE_PORT, host }).catch((err) => {
      throw explainListenError(err, `${host}:${env.BRIDGE_PORT ?? 0}`, "BRIDGE_PORT or BRIDGE_HOST");
    });
    ctx.out(
      `REST bridge listening on ${bridge.url} (Redis ${displayUrl(redisUrl)}). Stop with Ctrl-C or SIGTERM.`,
    );
    await serveUntilStopped(ctx, [() => bridge.close()]);
    return EXIT.ok;
  },
};
