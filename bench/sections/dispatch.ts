import { setTimeout as sleep } from "node:timers/promises";
import { startLocalRedis } from "../../cli/local-redis.js";
import { keys } from "../../shared/keys.js";
import { createIoredisClient } from "../../shared/redis/ioredis-adapter.js";
import { startProcess } from "../processes.js";
import type { Section, Settings } from "../section.js";
import { intakeEnv, seedAgent, submission } from "../seed.js";
import { fmt, percentile } from "../stats.js";

const TARGET = "bench-dispatch";

/** Environment of a bench runner process: its own id, the fast deployer, no HTTP port clash. */
export const runnerEnv = (redisUrl: string, id: string, targets: string[], deployMs: number) => ({
  REDIS_URL: redisUrl,
  RUNNER_ID: id,
  RUNNER_PORT: "0",
  RUNNER_HOST: "127.0.0.1",
  BENCH_TARGETS: targets.join(","),
  DEPLOY_MS: String(deployMs),
  LOG_LEVEL: "info",
});

/**
 * Section 2: from the intake's 202 (the client's clock at receipt) to the runner's "Processing
 * improvement request" (pino's `time`, same machine, same clock). One request at a time at a
 * steady rate, so each measures an idle runner picking up new work from its blocking read.
 */
export const dispatchSection = async (s: Settings): Promise<Section> => {
  const redis = await startLocalRedis();
  const client = createIoredisClient(redis.url, { enableOfflineQueue: true });
  const apiKey = await seedAgent(client, "bench-agent", [TARGET], ["redeploy"]);
  const runner = await startProcess(
    "bench/servers/runner.ts",
    runnerEnv(redis.url, "bench-runner-1", [TARGET], 0),
    /"runner started"/,
  );
  const intake = await startProcess("bench/servers/intake.ts", intakeEnv(redis.url), /^listening /);
  const processing = new Map<string, number>();
  runner.onLine((line) => {
    if (!line.includes('"Processing improvement request"')) return;
    const { request_id, time } = JSON.parse(line) as { request_id: string; time: number };
    processing.set(request_id, time);
  });
  const url = `http://127.0.0.1:${intake.readyLine.split(" ")[1]}/v1/improvements`;
  const intervalMs = 20;
  try {
    // Until the runner has published the target, the intake refuses it.
    for (let i = 0; ; i++) {
      if (await client.hexists(keys("").targets, TARGET)) break;
      if (i > 100) throw new Error("the runner did not publish its target");
      await sleep(100);
    }
    const accepted = new Map<string, number>();
    const warmup = Math.ceil(s.dispatchSamples / 10);
    let refused = 0;
    for (let i = 0; i < s.dispatchSamples + warmup; i++) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` },
        body: submission(TARGET, "redeploy", `dispatch sample ${i}`),
      });
      const at = Date.now();
      const body = (await res.json()) as { request_id: string };
      if (res.status !== 202) refused++;
      else if (i >= warmup) accepted.set(body.request_id, at);
      await sleep(intervalMs);
    }
    for (let i = 0; i < 50 && processing.size < accepted.size + warmup; i++) await sleep(100);
    const delays = [...accepted].flatMap(([id, at]) => {
      const t = processing.get(id);
      return t === undefined ? [] : [t - at];
    });
    const missing = accepted.size - delays.length;
    const p50 = percentile(delays, 50);
    const p99 = percentile(delays, 99);
    const met = p50 < 10 && missing === 0;
    return {
      title: "2. Dispatch latency",
      body: [
        `${accepted.size} requests (after ${warmup} warm-up ones) POSTed over HTTP one at a time, ${intervalMs} ms apart, to the Node intake; one real runner (createRunner, the queue side as it ships) with a stand-in Deployer that returns at once: this measures the queue, not Docker. Delay = the runner's pino \`time\` of "Processing improvement request" − the client's \`Date.now()\` when the 202 arrived (same host clock, millisecond resolution).`,
        "",
        "| figure | ms |",
        "|---|---|",
        `| median | **${fmt(p50, 0)}** |`,
        `| p90 | ${fmt(percentile(delays, 90), 0)} |`,
        `| p99 | ${fmt(p99, 0)} |`,
        `| min – max | ${fmt(Math.min(...delays), 0)} – ${fmt(Math.max(...delays), 0)} |`,
        "",
        `- Baseline: the 202 itself, i.e. 0 ms; a value ≤ 0 means the runner logged before the client had read the response. Target median < 10 ms: ${met ? "met" : "**missed**"}.`,
        `- Non-202 answers: ${refused}; accepted requests the runner never logged: ${missing}.`,
      ].join("\n"),
      targets: [
        { name: "dispatch median < 10 ms", figure: `${fmt(p50, 0)} ms (p99 ${fmt(p99, 0)} ms)`, met },
      ],
    };
  } finally {
    await intake.stop();
    await runner.stop();
    client.disconnect();
    await redis.stop();
  }
};
