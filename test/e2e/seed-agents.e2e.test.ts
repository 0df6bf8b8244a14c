import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalRedis, startLocalRedis } from "../../cli/local-redis.js";
import { containersOf, createFixture, type Fixture, serving } from "../../fixtures/docker.js";
import { keys, RUNNER_GROUP, STREAMS } from "../../shared/keys.js";
import { createIoredisClient } from "../../shared/redis/ioredis-adapter.js";
import {
  ensureCliBuilt,
  finished,
  killCliProcesses,
  ROOT,
  runCli,
  spawnCli,
  waitForOutput,
} from "../support/cli.js";

/**
 * Issue 10, "proof with their client": an agent of the original HyperCode system, in Python with
 * redis-py and its pydantic model (test/e2e/seed-agent/agent.py), submits with the guide's own line
 * and listens on the two pub/sub channels, against a real `hypercode runner` process and a real
 * Docker target. The upstream names carry no prefix, so this file has a redis-server of its own.
 */

/** Debian's interpreter: the one python3-redis and python3-pydantic are installed for (.ci/run). */
const PYTHON = "/usr/bin/python3";
const AGENT = join(ROOT, "test", "e2e", "seed-agent", "agent.py");
const k = keys();

interface AgentRun {
  readonly code: number | null;
  readonly stderr: string;
  /** The request as the agent wrote it. */
  readonly sent: Record<string, unknown>;
  /** Every event that named its id, in order. */
  readonly events: Array<{ channel: string; event: Record<string, unknown> }>;
}

describe("an upstream HyperCode agent, unchanged, against the runner", { timeout: 120_000 }, () => {
  let server: LocalRedis;
  let redis: Redis;
  let fx: Fixture;
  let runner: ChildProcess;
  let runnerOut = "";
  let name: string;
  const agents = new Set<ChildProcess>();

  beforeAll(async () => {
    try {
      execFileSync(PYTHON, ["-c", "import redis.asyncio, pydantic"], { stdio: "pipe" });
    } catch (err) {
      throw new Error(
        `${PYTHON} cannot import redis.asyncio and pydantic: apt-get install python3-redis python3-pydantic (.ci/run does)\n${(err as { stderr?: Buffer }).stderr ?? err}`,
      );
    }
    ensureCliBuilt();
    server = await startLocalRedis();
    redis = createIoredisClient(server.url, { enableOfflineQueue: true, maxRetriesPerRequest: 3 });
    fx = await createFixture();
    await fx.service("v1", { text: "v1" });
    name = `hct${fx.id}-seed`;
    // scale is not among its actions: the request that must fail asks for it.
    await fx.target({
      name,
      image: `${fx.repo}:v1`,
      replicas: 1,
      labels: { "hypercode.actions": "restart,redeploy" },
    });
    // What an operator does once: the runner checks direct entries against the agent's record.
    // Its scope includes scale, so the request that must fail is refused by the target's own labels.
    const added = await runCli(
      ["agents", "add", "coder-agent", "--targets", name, "--actions", "restart,redeploy,scale"],
      {
        env: { REDIS_URL: server.url },
      },
    );
    if (added.code !== 0) throw new Error(`agents add failed: ${added.stderr}`);
    runner = spawnCli(["runner"], {
      env: {
        REDIS_URL: server.url,
        RUNNER_ID: `seed-${fx.id}`,
        RUNNER_PORT: "0",
        RUNNER_HOST: "127.0.0.1",
        // Only this file's target: other tests' containers on the same engine stay untouched.
        HYPERCODE_TARGETS: name,
        HEALTH_TIMEOUT: "30s",
        PUBLISH_INTERVAL: "1s",
        RETRY_BASE: "200ms",
        LOG_LEVEL: "info",
      },
    });
    runner.stdout?.on("data", (d) => {
      runnerOut += d;
    });
    await waitForOutput(runner, "stderr", /runner \S+ started/, 60_000);
  }, 180_000);

  afterAll(async () => {
    for (const a of agents) a.kill("SIGKILL");
    if (runner && runner.exitCode === null) {
      const done = finished(runner);
      runner.kill("SIGTERM");
      await done;
    }
    killCliProcesses();
    redis?.disconnect();
    await server?.stop();
    await fx?.cleanup();
  }, 120_000);

  /** Runs the Python agent to its end and reads what it printed. */
  const agent = async (args: string[]): Promise<AgentRun> => {
    const child = spawn(PYTHON, [AGENT, "--redis", server.url, "--target", name, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    agents.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    agents.delete(child);
    const lines = stdout
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const sent = lines.find((l) => "sent" in l)?.sent as Record<string, unknown> | undefined;
    if (!sent) throw new Error(`the agent sent nothing (exit ${code}):\n${stderr}`);
    const events = lines.filter((l) => "event" in l) as AgentRun["events"];
    return { code, stderr, sent, events };
  };

  /** Why a run went wrong, for failure messages: the agent's stderr and the runner's log. */
  const context = (run: AgentRun) => `agent stderr:\n${run.stderr}\nrunner log:\n${runnerOut.slice(-4000)}`;

  /** The agent's id and the one event it heard, which must have come on `channel`. */
  const outcome = (run: AgentRun, channel: string) => {
    expect(run.code, context(run)).toBe(0);
    expect(
      run.events.map((e) => e.channel),
      context(run),
    ).toEqual([channel]);
    return { id: run.sent.id as string, event: (run.events[0] as AgentRun["events"][number]).event };
  };

  const containerIds = async () =>
    serving(await containersOf(fx, name))
      .map((c) => c.Id)
      .sort();

  /** Dead-letter entries that mention `id` anywhere. */
  const deadLettersOf = async (id: string) =>
    (await redis.xrange(STREAMS.deadLetter, "-", "+")).filter(([, f]) => f.some((v) => v.includes(id)));

  /** Containers the engine created for the target between two instants (seconds). */
  const containersCreated = async (since: number, until: number): Promise<number> => {
    const stream = await fx.docker.getEvents({
      since,
      until,
      filters: JSON.stringify({
        type: ["container"],
        event: ["create"],
        label: [`hypercode.target=${name}`],
      }),
    });
    let text = "";
    for await (const chunk of stream) text += chunk;
    return text.split("\n").filter((l) => l.trim()).length;
  };

  /** A request's timeline as {state, detail} lines. */
  const timeline = async (id: string) =>
    (await redis.xrange(k.requestEvents(id), "-", "+")).map(([, f]) => ({
      state: f[f.indexOf("state") + 1],
      detail: f.includes("detail") ? f[f.indexOf("detail") + 1] : "",
    }));

  it("a bare redeploy: the success event carries the agent's id and target, the target changed, nothing dead-lettered", async () => {
    const before = await containerIds();
    const run = await agent(["--payload", '{"action": "redeploy"}', "--type", "refactor", "--priority", "5"]);
    const { id, event } = outcome(run, "events:deployment:success");
    // The model's own serialisation: every upstream field, a naive timestamp, integer priority.
    expect(Object.keys(run.sent).sort()).toEqual(
      [
        "agent_id",
        "description",
        "files_changed",
        "id",
        "improvement_type",
        "payload",
        "priority",
        "status",
        "target_agent",
        "test_results",
        "timestamp",
      ].sort(),
    );
    expect(run.sent.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/);

    expect(event).toMatchObject({
      request_id: id,
      agent: name,
      agent_id: "coder-agent",
      success: true,
      state: "succeeded",
      evolution_status: "completed",
    });
    expect(event.logs).toEqual(expect.stringContaining("succeeded"));

    const after = await containerIds();
    expect(after).toHaveLength(1);
    expect(after.filter((c) => before.includes(c))).toEqual([]);
    expect(await deadLettersOf(id)).toEqual([]);
    expect(await redis.hget(k.request(id), "state")).toBe("succeeded");
    // Kept with the request: what the agent said about its change, in the runner's words.
    const stored = JSON.parse((await redis.hget(k.request(id), "request")) as string);
    expect(stored).toMatchObject({
      request_id: id,
      improvement_type: "refactor",
      priority: "high",
      files_changed: ["src/app.py"],
      test_results: { passed: 12 },
      timestamp: `${run.sent.timestamp}Z`,
    });
    expect(runnerOut).toContain(`Processing improvement request: ${id} for ${name}`);
  });

  it("an action the target does not allow: a failure event with the id and the reason, the target untouched", async () => {
    const before = await containerIds();
    const run = await agent(["--payload", '{"action": "scale", "replicas": 2}']);
    const { id, event } = outcome(run, "events:deployment:failure");
    expect(event).toMatchObject({
      request_id: id,
      agent: name,
      success: false,
      state: "rejected",
      evolution_status: "failed",
    });
    expect(event.error).toMatch(/scale/);
    expect(await containerIds()).toEqual(before);
  });

  it("an action the protocol does not know: dead-lettered, and still a failure event for the id", async () => {
    const run = await agent(["--payload", '{"action": "delete"}']);
    const { id, event } = outcome(run, "events:deployment:failure");
    expect(event).toMatchObject({ request_id: id, agent: name, success: false, state: "dead_lettered" });
    expect(event.error).toMatch(/payload/);
    expect(await deadLettersOf(id)).toHaveLength(1);
  });

  it("the same id XADDed twice: one deploy, one success event, the second entry counted as a duplicate", async () => {
    const id = `dup-${fx.id}`;
    const before = await containerIds();
    const since = Math.floor(Date.now() / 1000) - 1;
    // Listens on for a while after the first event: a second deploy would announce itself too.
    const run = await agent(["--id", id, "--twice", "--linger", "8"]);
    expect(outcome(run, "events:deployment:success").id).toBe(id);

    // The second entry may be taken up after the first ended (it waited for the target's lock).
    const deadline = Date.now() + 30_000;
    while ((await redis.hget(k.request(id), "duplicates")) !== "1" && Date.now() < deadline) {
      await sleep(200);
    }
    const status = await redis.hgetall(k.request(id));
    expect(status, context(run)).toMatchObject({ state: "succeeded", duplicates: "1" });
    // Taken up once: a note (the duplicate's) repeats the state it was written in, so a second
    // run shows as a second `running` after another state, not as a repeated line.
    const lines = await timeline(id);
    const states = lines.map((l) => l.state).filter((s, i, all) => s !== all[i - 1]);
    expect(
      states.filter((s) => s === "running"),
      JSON.stringify(lines),
    ).toHaveLength(1);
    expect(lines.filter((l) => /not run twice/.test(l.detail ?? ""))).toHaveLength(1);
    // Both entries were acknowledged: nothing of the request is left pending or dead-lettered.
    const pending = (await redis.xpending(STREAMS.requests, RUNNER_GROUP)) as [number];
    expect(pending[0]).toBe(0);
    expect(await deadLettersOf(id)).toEqual([]);

    const after = await containerIds();
    expect(after.filter((c) => before.includes(c))).toEqual([]);
    // Replaced once: one replica, so exactly one container created for it.
    expect(await containersCreated(since, Math.ceil(Date.now() / 1000) + 1)).toBe(1);
  });
});
