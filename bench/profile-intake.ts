// Profiles the Node intake under the intake benchmark's load: `node scripts/run-ts.mjs
// bench/profile-intake.ts [seconds]`. Runs it with --cpu-prof, prints where its CPU time went
// (self time per function, and per package) and what the submit script costs inside Redis.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalRedis } from "../cli/local-redis.js";
import { createIoredisClient } from "../shared/redis/ioredis-adapter.js";
import { startProcess } from "./processes.js";
import { intakeEnv, publishTargets, seedAgent, submission } from "./seed.js";
import { wrkPost } from "./wrk.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}

const seconds = Number(process.argv[2] ?? "8");
const dir = mkdtempSync(join(tmpdir(), "hc-bench-prof-"));
const redis = await startLocalRedis();
const client = createIoredisClient(redis.url, { enableOfflineQueue: true });
try {
  const apiKey = await seedAgent(client, "bench-agent", ["bench-intake"], ["restart"]);
  await publishTargets(client, ["bench-intake"], ["restart"]);
  const intake = await startProcess("bench/servers/intake.ts", intakeEnv(redis.url), /^listening /, [
    "--cpu-prof",
    `--cpu-prof-dir=${dir}`,
  ]);
  const url = `http://127.0.0.1:${intake.readyLine.split(" ")[1]}/v1/improvements`;
  const auth = { Authorization: `Bearer ${apiKey}` };
  await wrkPost(url, submission("bench-intake", "restart"), auth, 2);
  await client.config("RESETSTAT");
  const cpu0 = intake.cpuMs();
  const r = await wrkPost(url, submission("bench-intake", "restart"), auth, seconds);
  const cpuUs = ((intake.cpuMs() - cpu0) * 1000) / r.requests;
  const stat = (await client.info("commandstats")).split("\n").filter((l) => l.startsWith("cmdstat_"));
  await intake.stop();

  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error("no profile written");
  const { nodes } = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nodes: ProfileNode[] };
  const total = nodes.reduce((a, n) => a + n.hitCount, 0);
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const n of nodes) {
    const { functionName, url: src, lineNumber } = n.callFrame;
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(src)?.[1] ??
      (src.startsWith("node:") ? src : src ? "ours (bundle)" : functionName);
    const fn = `${functionName || "(anonymous)"} ${src.replace(/.*node_modules\//, "")}:${lineNumber}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + n.hitCount);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + n.hitCount);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join("\n");
  process.stdout.write(
    `${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(2)} ms, non-2xx ${r.non2xx}, intake CPU ${cpuUs.toFixed(0)} µs/request\n\nRedis:\n${stat.join("\n")}\n\n` +
      `Intake self time by package:\n${top(byPkg, 15)}\n\nby function:\n${top(byFn, 30)}\n`,
  );
} finally {
  client.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
