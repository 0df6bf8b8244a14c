import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterEach, beforeEach } from "vitest";
import { parseRunnerConfig, type RunnerConfig } from "../../runner/config.js";
import type { DeployContext, Deployer, DeployOutcome, Target, TargetCatalog } from "../../runner/ports.js";
import { createRunner, type Runner } from "../../runner/runner.js";
import { type Keys, keys, RUNNER_GROUP } from "../../shared/keys.js";
import {
  encodeStreamFields,
  type ImprovementPayload,
  type ImprovementRequest,
} from "../../shared/protocol/index.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "./redis.js";

/**
 * The queue side's own test doubles for the Docker side: a deployer whose behaviour each test
 * scripts, recording every call with its timing, runner and fencing token. The real Docker
 * deployer has its own tests; these check the queue's contract with any deployer.
 */

export interface DeployCall {
  readonly requestId: string;
  readonly target: string;
  readonly action: string;
  readonly runner: string;
  readonly fence: number;
  /** The request ids coalesced into this deploy (DeployContext.carries). */
  readonly carries: readonly string[];
  readonly start: number;
  end?: number;
}

export type Behaviour = (ctx: DeployContext, attempt: number) => Promise<DeployOutcome>;

/** A promise a test opens when it wants: holds a deploy until the test has set the scene. */
export const newGate = () => {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
};

export interface PerTest {
  client: Redis;
  prefix: string;
  k: Keys;
}

/**
 * A client and a fresh key prefix for each test; afterwards the test's runners are stopped and
 * every key under the prefix is deleted.
 */
export const perTestPrefix = (use: (t: PerTest) => void): void => {
  let current: PerTest;
  beforeEach(() => {
    const prefix = freshPrefix();
    current = { client: testClient(), prefix, k: keys(prefix) };
    use(current);
  });
  afterEach(async () => {
    await stopAllRunners();
    await deletePrefix(current.client, current.prefix);
    await current.client.quit();
  });
};

/** Reads up to `count` new entries as `consumer`, leaving them pending on it (as if it had died). */
export const readAs = (client: Redis, k: Keys, consumer: string, count: number) =>
  client.xreadgroup("GROUP", RUNNER_GROUP, consumer, "COUNT", count, "STREAMS", k.requestStream, ">");

/** Rolls out after `ms`, reporting progress and checking the lock the way a real deployer must. */
export const succeedAfter =
  (ms: number): Behaviour =>
  async (ctx) => {
    await ctx.progress("deploying", "rolling out");
    await sleep(ms);
    await ctx.assertLockHeld();
    return { state: "succeeded", detail: "rolled out", revision: `r${ctx.fence}`, image: "test-agent:r1" };
  };

export class TestDeployer implements Deployer {
  readonly attempts = new Map<string, number>();
  validations = 0;
  refuse: (r: ImprovementRequest) => Error | undefined = () => undefined;

  constructor(
    readonly runner: string,
    public behaviour: Behaviour = succeedAfter(0),
    /** Shared between runners to see every deploy in one place. */
    readonly calls: DeployCall[] = [],
  ) {}

  async validate(request: ImprovementRequest): Promise<void> {
    this.validations++;
    const refusal = this.refuse(request);
    if (refusal) throw refusal;
  }

  async deploy(ctx: DeployContext): Promise<DeployOutcome> {
    const id = ctx.request.request_id;
    const attempt = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, attempt);
    const call: DeployCall = {
      requestId: id,
      target: ctx.request.target_agent,
      action: ctx.request.payload.action,
      runner: this.runner,
      fence: ctx.fence,
      carries: (ctx.carries ?? []).map((r) => r.request_id),
      start: Date.now(),
    };
    this.calls.push(call);
    try {
      return await this.behaviour(ctx, attempt);
    } finally {
      call.end = Date.now();
    }
  }
}

export class TestCatalog implements TargetCatalog {
  constructor(
    public targets: Target[] = [{ name: "test-agent", actions: ["restart", "redeploy"], replicas: 1 }],
  ) {}
  async list(): Promise<Target[]> {
    return this.targets;
  }
}

/** Short times so that reclaims and retries happen within a test, without timing asserts. */
export const testEnv = (prefix: string, env: Record<string, string> = {}): Record<string, string> => ({
  REDIS_URL: redisUrl(),
  KEY_PREFIX: prefix,
  RUNNER_ID: "runner-a",
  CLAIM_IDLE: "1s",
  RETRY_BASE: "50ms",
  RETRY_MAX: "200ms",
  LOCK_TTL: "2s",
  PUBLISH_INTERVAL: "1s",
  RUNNER_PORT: "0",
  RUNNER_HOST: "127.0.0.1",
  STOP_GRACE: "10s",
  LOG_LEVEL: process.env.TEST_RUNNER_LOG ?? "silent",
  ...env,
});

export const testConfig = (prefix: string, env: Record<string, string> = {}): RunnerConfig =>
  parseRunnerConfig(testEnv(prefix, env));

export interface TestRunner {
  readonly runner: Runner;
  readonly deployer: TestDeployer;
  readonly catalog: TestCatalog;
  readonly redis: Redis;
  readonly config: RunnerConfig;
  stop(): Promise<void>;
}

/** Runners a test started, stopped in afterEach even when the test failed. */
const started = new Set<TestRunner>();

export const startTestRunner = async (
  prefix: string,
  opts: {
    env?: Record<string, string>;
    deployer?: TestDeployer;
    catalog?: TestCatalog;
    start?: boolean;
    /** Collects the runner's log lines (JSON) instead of discarding them. */
    logLines?: string[];
    random?: () => number;
  } = {},
): Promise<TestRunner> => {
  const config = testConfig(prefix, opts.env);
  const redis = testClient();
  const deployer = opts.deployer ?? new TestDeployer(config.runnerId);
  const catalog = opts.catalog ?? new TestCatalog();
  const lines = opts.logLines;
  const log = lines
    ? pino({ level: "info", base: { runner_id: config.runnerId } }, { write: (s: string) => lines.push(s) })
    : pino({ level: config.logLevel, base: { runner_id: config.runnerId } });
  const runner = createRunner({ redis, deployer, catalog, config, log, random: opts.random });
  const t: TestRunner = {
    runner,
    deployer,
    catalog,
    redis,
    config,
    stop: async () => {
      started.delete(t);
      await runner.stop();
      await redis.quit();
    },
  };
  started.add(t);
  if (opts.start ?? true) await runner.start();
  return t;
};

export const stopAllRunners = async (): Promise<void> => {
  await Promise.all([...started].map((t) => t.stop()));
};

let counter = 0;
export const newRequest = (
  payload: ImprovementPayload = { action: "redeploy" },
  over: Partial<ImprovementRequest> = {},
): ImprovementRequest => ({
  request_id: `req-${randomBytes(3).toString("hex")}-${counter++}`,
  agent_id: "coder-agent",
  target_agent: "test-agent",
  improvement_type: "performance",
  description: "a test request",
  payload,
  created_at: new Date().toISOString(),
  ...over,
});

/** Queues a request the way the intake does: the stream entry and a `queued` status record. */
export const enqueue = async (
  client: Redis,
  prefix: string,
  request: ImprovementRequest,
): Promise<string> => {
  const k = keys(prefix);
  const now = new Date().toISOString();
  const record = {
    request_id: request.request_id,
    agent_id: request.agent_id,
    target_agent: request.target_agent,
    action: request.payload.action,
    state: "queued",
    created_at: request.created_at,
    updated_at: now,
    request: JSON.stringify(request),
  };
  // Entry and record in one step, as submit.lua writes them: a runner that read the entry before
  // its record existed would take it for one an agent wrote straight to the stream.
  return (await client.eval(
    `local id = redis.call('XADD', KEYS[1], '*', ARGV[1], ARGV[2])
     redis.call('HSET', KEYS[2], 'entry_id', id, unpack(ARGV, 3))
     return id`,
    2,
    k.requestStream,
    k.request(request.request_id),
    ...encodeStreamFields(request),
    ...Object.entries(record).flat(),
  )) as string;
};

export const statusOf = async (
  client: Redis,
  prefix: string,
  requestId: string,
): Promise<Record<string, string>> => client.hgetall(keys(prefix).request(requestId));

/** The states a request went through, from its own timeline. */
export const timeline = async (client: Redis, prefix: string, requestId: string) =>
  (await client.xrange(keys(prefix).requestEvents(requestId), "-", "+")).map(([, f]) => {
    const r: Record<string, string> = {};
    for (let i = 0; i + 1 < f.length; i += 2) r[f[i] as string] = f[i + 1] as string;
    return r;
  });

export const deadLetters = async (client: Redis, prefix: string) =>
  (await client.xrange(keys(prefix).deadLetterStream, "-", "+")).map(([id, f]) => {
    const r: Record<string, string> = { id };
    for (let i = 0; i + 1 < f.length; i += 2) r[f[i] as string] = f[i + 1] as string;
    return r;
  });

/** [entry id, consumer, idle ms, deliveries] for each pending entry of the runners' group. */
export const pendingEntries = async (client: Redis, prefix: string) =>
  (await client.xpending(keys(prefix).requestStream, RUNNER_GROUP, "-", "+", 1000)) as [
    string,
    string,
    number,
    number,
  ][];

/** Polls until `check` returns a value other than undefined/false; fails with `what` after the timeout. */
export const waitFor = async <T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  // Long enough for a loaded two-core machine; a wait only takes this long when the test fails.
  timeoutMs = 45_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await sleep(25);
  }
};

/** Waits until the request's status record is in `state`. */
export const waitForState = async (
  client: Redis,
  prefix: string,
  requestId: string,
  state: string,
  timeoutMs?: number,
) => {
  let last: Record<string, string> = {};
  try {
    return await waitFor(
      `${requestId} to be ${state}`,
      async () => {
        last = await statusOf(client, prefix, requestId);
        return last.state === state ? last : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; it is ${JSON.stringify(last)}`);
  }
};
