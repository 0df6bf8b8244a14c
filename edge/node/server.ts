import { createHash } from "node:crypto";
import * as z from "zod";
import { parseEnv } from "../../shared/config/parse.js";
import { durationSchema } from "../../shared/config/units.js";
import { listen } from "../../shared/node/listen.js";
import { createIoredisClient, IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import { createApp } from "../app.js";
import { type IntakeConfig, parseIntakeConfig as parseAppConfig } from "../config.js";

/**
 * What only the Node entry needs: how long a client may take to send a request. Node holds a
 * request that never finishes for 300 s by default, a connection and its parser each; a slow
 * client (slowloris) is cut off well before that.
 */
const nodeEnvSchema = z
  .object({
    HEADERS_TIMEOUT: durationSchema.prefault("10s").refine((ms) => ms > 0, "must be longer than 0"),
    REQUEST_TIMEOUT: durationSchema.prefault("30s").refine((ms) => ms > 0, "must be longer than 0"),
  })
  .refine((e) => e.HEADERS_TIMEOUT <= e.REQUEST_TIMEOUT, {
    message: "must not be longer than REQUEST_TIMEOUT (the headers are part of the request)",
    path: ["HEADERS_TIMEOUT"],
  })
  .transform((e) => ({ headersTimeoutMs: e.HEADERS_TIMEOUT, requestTimeoutMs: e.REQUEST_TIMEOUT }));

export const parseNodeIntakeEnv = (env: Record<string, unknown>) =>
  parseEnv("Node intake", nodeEnvSchema, env);

/** `hypercode up` checks the intake's settings before it starts anything: the same parses. */
export const parseIntakeConfig = (env: Record<string, unknown>): IntakeConfig => {
  parseNodeIntakeEnv(env);
  return parseAppConfig(env);
};

export interface NodeIntakeOptions {
  redisUrl: string;
  port: number;
  host: string;
  env: Record<string, string | undefined>;
}

export interface NodeIntake {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The Node entry: ioredis + @hono/node-server around the same app Workers serve. */
export const startNodeIntake = async (opts: NodeIntakeOptions): Promise<NodeIntake> => {
  const timeouts = parseNodeIntakeEnv(opts.env);
  const config = parseAppConfig(opts.env);
  // Auto-pipelining: commands issued in the same tick (concurrent requests) go out in one socket
  // write, which under load roughly halves the intake's syscalls to Redis.
  const client = createIoredisClient(opts.redisUrl, { enableAutoPipelining: true });
  // ioredis reconnects by itself; without a listener an unreachable Redis would crash the process.
  client.on("error", () => {});
  // Commands fail fast while disconnected (no offline queue), so give the first connection a
  // moment; if Redis is down at start the intake still serves, answering 503 until it is back.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    client.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const app = createApp({
    redis: new IoredisAdapter(client),
    config,
    clock: Date.now,
    newId: () => crypto.randomUUID(),
    sha256Hex: async (text) => createHash("sha256").update(text).digest("hex"),
    runtime: "node",
  });
  const server = await listen(app.fetch, { port: opts.port, host: opts.host, ...timeouts }).catch((err) => {
    client.disconnect();
    throw err;
  });
  const wildcard = opts.host === "0.0.0.0" || opts.host === "::";
  return {
    url: wildcard ? `http://127.0.0.1:${server.port}` : server.url,
    port: server.port,
    close: async () => {
      await server.close();
      // QUIT lets ioredis drop its timers; when Redis is gone it fails at once (no offline queue).
      await client.quit().catch(() => client.disconnect());
    },
  };
};
