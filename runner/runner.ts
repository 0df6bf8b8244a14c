import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { keys as keyNames } from "../shared/keys.js";
import { IoredisAdapter } from "../shared/redis/ioredis-adapter.js";
import type { RunnerConfig } from "./config.js";
import { type Delivery, StreamConsumer } from "./consume.js";
import { DeploymentEvents } from "./deployment-events.js";
import { checkDirectEntry } from "./direct-entries.js";
import { Every } from "./every.js";
import { RunnerStopping } from "./execute.js";
import { Heartbeat } from "./heartbeat.js";
import { type HttpServer, startHttpServer } from "./http.js";
import { TargetLocks } from "./lock.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { WebhookNotifier } from "./notify.js";
import { handleDelivery, type PipelineDeps } from "./pipeline.js";
import type { Deployer, TargetCatalog } from "./ports.js";
import { publishTargets } from "./publish.js";
import { MAX_BLOCK_MS, ReadLoop } from "./read-loop.js";
import { Reporter } from "./report.js";
import { RetrySchedule } from "./schedule.js";
import { StatusStore } from "./status.js";
import { trimStream } from "./trim.js";
import { loadWebhookKey, publishWebhookKey } from "./webhook-key.js";

export interface RunnerDeps {
  readonly redis: Redis;
  readonly catalog: TargetCatalog;
  readonly deployer: Deployer;
  readonly config: RunnerConfig;
  readonly log: Logger;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  readonly clock?: () => number;
  /** For the backoff jitter. */
  readonly random?: () => number;
}

export interface Runner {
  /** Joins the group, starts the loops and the HTTP server; resolves once reading has begun. */
  start(): Promise<void>;
  /** Stops reading, lets the job in hand finish (or hands it back after the grace period), cleans up. */
  stop(): Promise<void>;
  /** The port of /healthz and /metrics, once started. */
  readonly port: number | undefined;
  readonly metrics: Metrics;
}

/**
 * The runner: one consumer of the request stream, taking one entry at a time through the pipeline
 * (validate → plan → execute → report). Its own pending entries first (a previous life's work),
 * then, in each round: a retry whose time has come, an entry a dead runner left idle, a new entry.
 */
export const createRunner = (deps: RunnerDeps): Runner => {
  const { redis, config, log } = deps;
  const clock = deps.clock ?? Date.now;
  const random = deps.random ?? Math.random;
  const keys = keyNames(config.keyPrefix);
  // Its own connection, without the short command timeout: a blocking read is meant to wait.
  const blocking = redis.duplicate({
    commandTimeout: MAX_BLOCK_MS + 5000,
    enableOfflineQueue: true,
    lazyConnect: true,
  });
  // The one port every part runs its scripts through (its client for plain stream commands).
  const store = new IoredisAdapter(redis);
  const consumer = new StreamConsumer(store, blocking, keys, config.runnerId);
  const signingKey = loadWebhookKey(config.webhookKeyFile);
  // start() awaits it and fails with the reason; until then, no unhandled rejection.
  signingKey.catch(() => undefined);
  const webhooks = new WebhookNotifier({ redis, keys, log, clock, signingKey });
  const events = new DeploymentEvents({ redis, keys, log });
  const status = new StatusStore(
    store,
    keys,
    { ttlMs: config.statusTtlMs, streamMaxLen: config.statusStreamMaxLen },
    clock,
    (requestId, state) => {
      webhooks.finished(requestId, state);
      events.finished(requestId, state);
    },
  );
  const schedule = new RetrySchedule();
  const heartbeat = new Heartbeat({
    intervalMs: config.heartbeatMs,
    touch: (ids) => consumer.touch(ids),
    onLost: (ids) => {
      for (const id of ids) schedule.delete(id);
      log.warn({ entry_ids: ids }, "entries this runner held were reclaimed or acknowledged elsewhere");
    },
    onError: (err) => log.warn({ err }, "heartbeat failed"),
  });
  const metrics = createMetrics({
    // A scrape while the stream does not exist (yet, or any more) shows no queue, not an error.
    groupInfo: () => consumer.groupInfo().catch(() => undefined),
    held: () => heartbeat.ids.length,
  });
  const stopController = new AbortController();
  const pipeline: PipelineDeps = {
    config,
    consumer,
    status,
    deployer: deps.deployer,
    locks: new TargetLocks(store, keys, config.runnerId, config.lockTtlMs, (err) =>
      log.warn({ err }, "could not renew a target lock"),
    ),
    heartbeat,
    schedule,
    checkDirect: (request, entryId) => checkDirectEntry(store, keys, config, request, entryId, clock()),
    report: new Reporter({ redis, keys, config, status, consumer, schedule, metrics, events, clock, random }),
    log,
    clock,
    random,
    stopSignal: stopController.signal,
  };

  const startedAt = new Date(clock()).toISOString();
  let inHand: string | undefined;
  let started = false;
  let server: HttpServer | undefined;
  let stopped: Promise<void> | undefined;

  const publishKey = async () =>
    publishWebhookKey({
      redis: store,
      keys,
      runnerId: config.runnerId,
      key: await signingKey,
      now: clock(),
    });
  const publisher = new Every(
    config.publishIntervalMs,
    async () => {
      // The key first: a catalog that cannot list (Docker down) must not let the key expire while
      // this runner still signs the webhooks of the requests it fails.
      await publishKey();
      await publishTargets({
        redis: store,
        keys,
        catalog: deps.catalog,
        runnerId: config.runnerId,
        intervalMs: config.publishIntervalMs,
        clock,
        describe: () => ({ started_at: startedAt, in_hand: inHand ?? null, held: heartbeat.ids.length }),
        onInvalid: (target, reason) =>
          log.warn({ target, reason }, "not publishing a target the catalog listed"),
      });
    },
    (err) => log.warn({ err }, "could not publish the webhook key or the targets"),
  );
  const trimmer = new Every(
    config.trimIntervalMs,
    async () => {
      const r = await trimStream(redis, keys, consumer, config.streamRetentionMs, clock());
      if (r?.removed) log.info({ removed: r.removed, min_id: r.minId }, "trimmed the request stream");
    },
    (err) => log.warn({ err }, "could not trim the request stream"),
  );

  const reader = new ReadLoop({
    consumer,
    blocking,
    schedule,
    heartbeat,
    claimIdleMs: config.claimIdleMs,
    clock,
    log,
    handle: async (d: Delivery) => {
      inHand = d.id;
      try {
        await handleDelivery(d, pipeline);
      } finally {
        inHand = undefined;
      }
    },
  });

  const health = async () => {
    const alive = reader.alive;
    let redisOk = false;
    try {
      redisOk = (await Promise.race([redis.ping(), sleep(1000).then(() => "timeout")])) === "PONG";
    } catch {
      redisOk = false;
    }
    return {
      ok: alive && redisOk,
      runner_id: config.runnerId,
      reading: alive,
      redis: redisOk ? "ok" : "unreachable",
      in_hand: inHand ?? null,
      held: heartbeat.ids.length,
    };
  };

  return {
    get port() {
      return server?.port;
    },
    metrics,
    async start() {
      if (started) return;
      started = true;
      const key = await signingKey;
      await consumer.ensureGroup();
      // Listed before any webhook can be signed with it, so a receiver never waits for the key.
      await publishKey();
      server = await startHttpServer({
        port: config.port,
        host: config.host,
        registry: metrics.registry,
        health,
      });
      heartbeat.start();
      publisher.start(true);
      trimmer.start();
      reader.start();
      log.info({ port: server.port, group: keys.requestStream, webhook_kid: key.kid }, "runner started");
    },
    stop() {
      stopped ??= (async () => {
        const grace = setTimeout(() => stopController.abort(new RunnerStopping()), config.stopGraceMs);
        await reader.stop();
        clearTimeout(grace);
        await Promise.all([heartbeat.stop(), publisher.stop(), trimmer.stop()]);
        // Entries waiting for a retry or a lock: idle enough for any other runner to take them now.
        await consumer
          .touch(schedule.ids(), config.claimIdleMs)
          .catch((err) => log.warn({ err }, "hand-back failed"));
        await redis.hdel(keys.runners, config.runnerId).catch(() => undefined);
        // Webhooks of requests that just finished: their tries are bounded, so this ends.
        await Promise.all([webhooks.settled(), events.settled()]);
        await server?.close();
        blocking.disconnect();
        log.info("runner stopped");
      })();
      return stopped;
    },
  };
};
