import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type Redis, ReplyError } from "ioredis";
import { listen } from "../shared/node/listen.js";
import { createIoredisClient } from "../shared/redis/ioredis-adapter.js";
import { bearerToken } from "./auth.js";
import { BridgeRequestError, type Command, encodeReply, parseCommand, parseCommandList } from "./protocol.js";

/**
 * An HTTP server that speaks the Upstash REST protocol over a real Redis, so that the Workers
 * intake (which reaches Redis only through @upstash/redis) runs locally and in tests exactly as
 * it does against Upstash. See bridge/protocol.ts for the wire format.
 */

export const MAX_BODY_BYTES = 1_048_576;

export interface RestBridgeOptions {
  redisUrl: string;
  token: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RestBridge {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const run = (redis: Redis, [name, ...args]: Command) => redis.callBuffer(name, args);

/** Runs commands in one pipeline (or one MULTI/EXEC); per-command error replies stay per command. */
const runAll = async (redis: Redis, commands: Command[], atomic: boolean) => {
  const batch = atomic ? redis.multi() : redis.pipeline();
  for (const [name, ...args] of commands) batch.callBuffer(name, args);
  const replies = (await batch.exec().catch(explainAbort)) ?? [];
  return replies.map(([err, reply]) => {
    if (err && !(err instanceof ReplyError)) throw err;
    return err ? { error: err.message } : { reply };
  });
};

/** EXECABORT alone does not say what was wrong; the queueing errors do. */
const explainAbort = (err: unknown): never => {
  const previous = (err as { previousErrors?: Error[] }).previousErrors;
  if (err instanceof ReplyError && previous?.length) {
    throw new ReplyError(`${(err as Error).message} ${previous.map((e) => e.message).join("; ")}`);
  }
  throw err;
};

const readJson = async (c: Context): Promise<unknown> => {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BridgeRequestError(`the body is not valid JSON: ${(err as Error).message}`);
  }
};

const wantsBase64 = (c: Context) => c.req.header("upstash-encoding")?.toLowerCase() === "base64";

export const createBridgeApp = (redis: Redis, token: string, describeOutage: (err: Error) => string) => {
  const app = new Hono();
  app.use(bearerToken(token));
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      // The rest of the body is never read, so this connection cannot carry another request.
      onError: (c) =>
        c.json({ error: `the body is larger than ${MAX_BODY_BYTES} bytes` }, 413, { Connection: "close" }),
    }),
  );

  app.post("/", async (c) => {
    const reply = await run(redis, parseCommand(await readJson(c)));
    return c.json({ result: encodeReply(reply, wantsBase64(c)) });
  });

  for (const [path, atomic] of [
    ["/pipeline", false],
    ["/multi-exec", true],
  ] as const) {
    app.post(path, async (c) => {
      const base64 = wantsBase64(c);
      const results = await runAll(redis, parseCommandList(await readJson(c)), atomic);
      return c.json(
        results.map((r) => ("error" in r ? { error: r.error } : { result: encodeReply(r.reply, base64) })),
      );
    });
  }

  app.notFound((c) =>
    c.json(
      { error: `no such endpoint: ${c.req.method} ${c.req.path} (POST /, /pipeline or /multi-exec)` },
      404,
    ),
  );

  app.onError((err, c) => {
    if (err instanceof BridgeRequestError) return c.json({ error: err.message }, err.status);
    // A reply error is Redis answering (NOSCRIPT, WRONGTYPE, EXECABORT): the client gets its text.
    if (err instanceof ReplyError) return c.json({ error: err.message }, 400);
    return c.json({ error: `Redis is unavailable: ${describeOutage(err)}` }, 503);
  });
  return app;
};

/** Starts the bridge; resolves once it listens, whether or not Redis is up yet. */
export const startRestBridge = async (opts: RestBridgeOptions): Promise<RestBridge> => {
  if (!opts.token) throw new Error("the REST bridge needs a non-empty token");
  // Fail fast (no offline queue, short timeouts): a request while Redis is away answers 503 at
  // once, and the client keeps reconnecting in the background.
  const redis = createIoredisClient(opts.redisUrl);
  let lastConnectionError: string | undefined;
  redis.on("error", (err: Error) => {
    lastConnectionError = err.message;
  });
  redis.on("close", () => {
    lastConnectionError ??= "the connection to Redis closed";
  });
  redis.on("ready", () => {
    lastConnectionError = undefined;
  });
  // ioredis says "Stream isn't writeable" while it is disconnected; the reason it lost Redis
  // (connection refused, timeout) is what an operator needs to read.
  const describeOutage = (err: Error) =>
    redis.status !== "ready" && lastConnectionError ? lastConnectionError : err.message;

  const app = createBridgeApp(redis, opts.token, describeOutage);
  await Promise.race([
    new Promise((r) => redis.once("ready", r)),
    new Promise((r) => redis.once("error", r)),
    new Promise((r) => setTimeout(r, 2000).unref()),
  ]);
  let server: Awaited<ReturnType<typeof listen>>;
  try {
    server = await listen(app.fetch, { port: opts.port, host: opts.host });
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return {
    url: server.url,
    port: server.port,
    close: async () => {
      await server.close();
      redis.disconnect();
    },
  };
};
