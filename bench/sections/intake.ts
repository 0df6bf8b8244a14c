import { setTimeout as sleep } from "node:timers/promises";
import { startLocalRedis } from "../../cli/local-redis.js";
import { keys } from "../../shared/keys.js";
import { createIoredisClient } from "../../shared/redis/ioredis-adapter.js";
import { type BenchProcess, startProcess } from "../processes.js";
import { redisBenchmark } from "../redis-benchmark.js";
import type { Section, Settings } from "../section.js";
import { intakeEnv, publishTargets, seedAgent, submission } from "../seed.js";
import { fmt, fmtSummary, ratio, summarise } from "../stats.js";
import { type WrkResult, wrkPost } from "../wrk.js";

const TARGET = "bench-intake";
const k = keys("");

/** Redis's own CPU time so far (user + system), in milliseconds. */
const redisCpuMs = async (client: { info(section: string): Promise<string> }): Promise<number> => {
  const info = await client.info("cpu");
  const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, "m").exec(info)?.[1] ?? Number.NaN);
  return (get("used_cpu_user") + get("used_cpu_sys")) * 1000;
};

/** A wrk run with the CPU each process spent on it, in microseconds per request. */
const measured = async (
  run: () => Promise<WrkResult>,
  server: BenchProcess,
  client: { info(section: string): Promise<string> },
) => {
  const cpu0 = server.cpuMs();
  const redis0 = await redisCpuMs(client);
  const r = await run();
  return {
    ...r,
    serverCpuUs: ((server.cpuMs() - cpu0) * 1000) / r.requests,
    redisCpuUs: (((await redisCpuMs(client)) - redis0) * 1000) / r.requests,
  };
};

const commandCalls = (info: string): Map<string, number> => {
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/gm)) {
    calls.set(m[1] as string, Number(m[2]));
    calls.set(`${m[1]}:usec_per_call`, Number(m[3]));
  }
  return calls;
};

/**
 * Section 1: authenticated, rate-limited, validated submissions to the Node intake, next to a
 * bare Hono JSON POST on the same `listen`, next to redis-benchmark XADD of the same body. Runs
 * are interleaved (bare, intake, XADD, bare, ...) so drifting background load hits all three.
 */
export const intakeSection = async (s: Settings): Promise<Section> => {
  const redis = await startLocalRedis();
  const client = createIoredisClient(redis.url, { enableOfflineQueue: true });
  const apiKey = await seedAgent(client, "bench-agent", [TARGET], ["restart"]);
  await publishTargets(client, [TARGET], ["restart"]);
  const intake = await startProcess("bench/servers/intake.ts", intakeEnv(redis.url), /^listening /);
  const bare = await startProcess("bench/servers/bare-hono.ts", {}, /^listening /);
  const url = (p: { readyLine: string }) => `http://127.0.0.1:${p.readyLine.split(" ")[1]}/v1/improvements`;
  const body = submission(TARGET, "restart");
  const auth = { Authorization: `Bearer ${apiKey}` };
  try {
    // Warm-up: JIT, connection pools, Lua script cache.
    await wrkPost(url(bare), body, {}, s.warmupSeconds);
    await wrkPost(url(intake), body, auth, s.warmupSeconds);
    type Measured = Awaited<ReturnType<typeof measured>>;
    const bareRuns: Measured[] = [];
    const intakeRuns: Measured[] = [];
    let inner = new Map<string, number>();
    const xaddRps: number[] = [];
    const xaddP99: number[] = [];
    const perAccepted: number[] = [];
    const allPerAccepted: number[] = [];
    const evalshaUsec: number[] = [];
    for (let i = 0; i < s.runs; i++) {
      bareRuns.push(await measured(() => wrkPost(url(bare), body, {}, s.runSeconds), bare, client));
      await client.config("RESETSTAT");
      const xlen0 = await client.xlen(k.requestStream);
      const run = await measured(() => wrkPost(url(intake), body, auth, s.runSeconds), intake, client);
      intakeRuns.push(run);
      const stats = commandCalls(await client.info("commandstats"));
      // Entries added, not wrk's count: requests still in flight when wrk stops are not counted by
      // wrk but did reach Redis.
      const accepted = (await client.xlen(k.requestStream)) - xlen0;
      let all = 0;
      for (const [name, n] of stats)
        if (!name.includes(":") && name !== "xlen" && name !== "info" && !name.startsWith("config")) all += n;
      perAccepted.push((stats.get("evalsha") ?? 0) / accepted);
      allPerAccepted.push(all / accepted);
      evalshaUsec.push(stats.get("evalsha:usec_per_call") ?? Number.NaN);
      inner = stats;
      const x = await redisBenchmark(redis.port, s.xaddRequests, [
        "XADD",
        "bench:xadd",
        "*",
        "payload",
        body,
      ]);
      xaddRps.push(x.rps);
      xaddP99.push(x.p99);
      await client.del("bench:xadd");
      await sleep(200);
    }
    const cpu = (r: Measured[], f: (m: Measured) => number) => summarise(r.map(f)).median;
    const innerRows = [...inner]
      .filter(
        ([name]) =>
          !name.includes(":") && !["evalsha", "info", "xlen"].includes(name) && !name.startsWith("config"),
      )
      .map(
        ([name, calls]) =>
          `${name.toUpperCase()} ${fmt(calls / (intakeRuns.at(-1)?.requests ?? 1), 1)}× ${fmt(inner.get(`${name}:usec_per_call`) ?? Number.NaN, 2)} µs`,
      );
    const rps = (r: Measured[]) => summarise(r.map((x) => x.rps));
    const intakeRps = rps(intakeRuns);
    const bareRps = rps(bareRuns);
    const p99 = summarise(intakeRuns.map((r) => r.p99));
    const non2xx = intakeRuns.reduce((a, r) => a + r.non2xx + r.socketErrors, 0);
    const bareNon2xx = bareRuns.reduce((a, r) => a + r.non2xx + r.socketErrors, 0);
    const evalsha = summarise(perAccepted);
    const throughputMet = intakeRps.median >= 0.5 * bareRps.median;
    return {
      title: "1. Intake throughput and latency",
      body: [
        `wrk 4.1, 1 thread, 50 connections, ${s.runs} runs of ${s.runSeconds} s after a ${s.warmupSeconds} s warm-up, interleaved; XADD: \`redis-benchmark -c 50 -n ${s.xaddRequests}\` of the same body.`,
        "",
        "| endpoint | req/s median (min–max) | p50 ms | p99 ms median (min–max) | non-2xx + socket errors |",
        "|---|---|---|---|---|",
        `| bare Hono JSON POST (baseline) | ${fmtSummary(bareRps)} | ${fmt(summarise(bareRuns.map((r) => r.p50)).median, 2)} | ${fmtSummary(summarise(bareRuns.map((r) => r.p99)), 2)} | ${bareNon2xx} |`,
        `| intake: auth + rate limit + zod + submit script | ${fmtSummary(intakeRps)} | ${fmt(summarise(intakeRuns.map((r) => r.p50)).median, 2)} | ${fmtSummary(p99, 2)} | ${non2xx} |`,
        `| redis-benchmark XADD (Redis alone) | ${fmtSummary(summarise(xaddRps))} | — | ${fmtSummary(summarise(xaddP99), 2)} | — |`,
        "",
        `- **Intake / bare Hono: ${ratio(intakeRps.median, bareRps.median)}** (target ≥ 0.5×: ${throughputMet ? "met" : "**missed**"}).`,
        `- Intake / Redis XADD: ${ratio(intakeRps.median, summarise(xaddRps).median)}.`,
        `- Intake p99: ${fmt(p99.median, 2)} ms (target < 5 ms: ${p99.median < 5 ? "met" : "**missed**"}).`,
        `- Redis commands per accepted request (INFO commandstats delta / entries added to the request stream): EVALSHA ${fmt(evalsha.median, 3)}, commands executed inside Redis including the script's inner calls ${fmt(summarise(allPerAccepted).median, 1)} (target: one script call: ${Math.abs(evalsha.median - 1) < 0.01 ? "met" : "**missed**"}). The submit script costs ${fmt(summarise(evalshaUsec).median, 1)} µs per call inside Redis (usec_per_call).`,
        `- CPU per request (medians; /proc and INFO cpu deltas over each run): bare Hono process ${fmt(cpu(bareRuns, (m) => m.serverCpuUs))} µs; intake process ${fmt(cpu(intakeRuns, (m) => m.serverCpuUs))} µs plus Redis ${fmt(cpu(intakeRuns, (m) => m.redisCpuUs))} µs. wrk, node and redis share 2 cores here, so req/s is bounded by the sum, not by one process.`,
        `- Inside the submit script (last run, calls per request and µs per call): ${innerRows.join(", ")}.`,
        `- Every intake answer was a 202: ${non2xx === 0 ? "yes" : `**no, ${non2xx} were not**`}.`,
      ].join("\n"),
      targets: [
        {
          name: "intake ≥ 0.5× bare Hono req/s",
          figure: ratio(intakeRps.median, bareRps.median),
          met: throughputMet,
        },
        { name: "intake p99 < 5 ms", figure: `${fmt(p99.median, 2)} ms`, met: p99.median < 5 },
        {
          name: "one script call per accepted request",
          figure: fmt(evalsha.median, 3),
          met: Math.abs(evalsha.median - 1) < 0.01,
        },
        { name: "every request a 202", figure: `${non2xx} non-2xx`, met: non2xx === 0 },
      ],
    };
  } finally {
    await intake.stop();
    await bare.stop();
    client.disconnect();
    await redis.stop();
  }
};
