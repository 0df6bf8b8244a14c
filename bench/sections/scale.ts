import { setTimeout as sleep } from "node:timers/promises";
import { startLocalRedis } from "../../cli/local-redis.js";
import { keys } from "../../shared/keys.js";
import { isTerminal, type RequestState } from "../../shared/protocol/index.js";
import { createIoredisClient } from "../../shared/redis/ioredis-adapter.js";
import { type BenchProcess, startProcess } from "../processes.js";
import type { Section, Settings } from "../section.js";
import { intakeEnv, seedAgent, submission } from "../seed.js";
import { fmt } from "../stats.js";
import { runnerEnv } from "./dispatch.js";

const DEPLOY_MS = 50;

/**
 * Section 4: a burst of requests across many targets, all POSTed at once, drained by 2 runners
 * (real queue side, stand-in Deployer of DEPLOY_MS each). Baseline for the drain time: the time
 * one deploy per target would take if the runners shared the targets perfectly and coalescing
 * folded every duplicate, `ceil(targets / runners) × DEPLOY_MS`.
 */
export const scaleSection = async (s: Settings): Promise<Section> => {
  const redis = await startLocalRedis();
  const client = createIoredisClient(redis.url, { enableOfflineQueue: true });
  const k = keys("");
  const targets = Array.from({ length: s.scaleTargets }, (_, i) => `bench-scale-${i}`);
  const apiKey = await seedAgent(client, "bench-agent", targets, ["redeploy"]);
  const runners: BenchProcess[] = [];
  let intake: BenchProcess | undefined;
  let deploys = 0;
  try {
    for (const id of ["bench-runner-1", "bench-runner-2"]) {
      const r = await startProcess(
        "bench/servers/runner.ts",
        runnerEnv(redis.url, id, targets, DEPLOY_MS),
        /"runner started"/,
      );
      r.onLine((line) => {
        if (line.includes('"bench deploy"')) deploys++;
      });
      runners.push(r);
    }
    const started = await startProcess("bench/servers/intake.ts", intakeEnv(redis.url), /^listening /);
    intake = started;
    const url = `http://127.0.0.1:${started.readyLine.split(" ")[1]}/v1/improvements`;
    for (let i = 0; (await client.hlen(k.targets)) < targets.length; i++) {
      if (i > 100) throw new Error("the runners did not publish their targets");
      await sleep(100);
    }

    const t0 = Date.now();
    const answers = await Promise.all(
      Array.from({ length: s.scaleRequests }, async (_, i) => {
        const res = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` },
          body: submission(targets[i % targets.length] as string, "redeploy", `scale ${i}`),
        });
        const body = (await res.json()) as { request_id?: string };
        return { status: res.status, id: body.request_id };
      }),
    );
    const submittedMs = Date.now() - t0;
    const ids = answers.flatMap((a) => (a.status === 202 && a.id ? [a.id] : []));
    const refused = answers.length - ids.length;
    const states = new Map<string, number>();
    let drainedMs = Number.NaN;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const pipe = client.pipeline();
      for (const id of ids) pipe.hget(k.request(id), "state");
      const got = ((await pipe.exec()) ?? []).map(([, v]) => v as RequestState | null);
      if (got.every((st) => st !== null && isTerminal(st))) {
        drainedMs = Date.now() - t0;
        for (const st of got) states.set(st as string, (states.get(st as string) ?? 0) + 1);
        break;
      }
      await sleep(50);
    }
    const rss = {
      intake: started.peakRssMiB(),
      runners: runners.map((r) => r.peakRssMiB()),
    };
    const ideal = Math.ceil(targets.length / runners.length) * DEPLOY_MS;
    const memMet = rss.intake < 150 && rss.runners.every((m) => m < 150);
    const stateList = [...states].map(([st, n]) => `${st} ${n}`).join(", ");
    return {
      title: "4. Scale",
      body: [
        `${s.scaleRequests} requests across ${targets.length} targets, POSTed at once over HTTP to one Node intake; 2 runner processes (real queue side: consumer group, target locks, coalescing, status) with a stand-in Deployer taking ${DEPLOY_MS} ms per deploy instead of real containers, so the figures are the queue's, not Docker's. Peak RSS is each process's VmHWM.`,
        "",
        "| figure | value |",
        "|---|---|",
        `| all ${s.scaleRequests} POSTs answered | ${fmt(submittedMs)} ms (non-202: ${refused}) |`,
        `| time to drain (first POST → every request terminal) | **${fmt(drainedMs)} ms** |`,
        `| baseline: one deploy per target, perfectly shared, ceil(${targets.length}/2) × ${DEPLOY_MS} ms | ${fmt(ideal)} ms |`,
        `| drain / baseline | ${fmt(drainedMs / ideal, 1)}× |`,
        `| deploys actually run | ${deploys} for ${ids.length} accepted requests (${fmt(ids.length / Math.max(deploys, 1), 1)} requests per deploy) |`,
        `| final states | ${stateList || "not drained within 120 s"} |`,
        `| peak RSS intake | ${fmt(rss.intake, 0)} MiB |`,
        `| peak RSS runners | ${rss.runners.map((m) => `${fmt(m, 0)} MiB`).join(", ")} |`,
        "",
        `Target peak RSS < 150 MB each: ${memMet ? "met" : "**missed**"}.`,
      ].join("\n"),
      targets: [
        {
          name: `${s.scaleRequests} requests / ${targets.length} targets / 2 runners drained`,
          figure: `${fmt(drainedMs)} ms, ${deploys} deploys`,
          met: Number.isFinite(drainedMs) && refused === 0,
        },
        {
          name: "peak RSS < 150 MB (intake, runners)",
          figure: `${fmt(rss.intake, 0)} / ${rss.runners.map((m) => fmt(m, 0)).join(" / ")} MiB`,
          met: memMet,
        },
      ],
    };
  } finally {
    await intake?.stop();
    for (const r of runners) await r.stop();
    client.disconnect();
    await redis.stop();
  }
};
