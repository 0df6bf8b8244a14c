import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface RedisBenchResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

/** `redis-benchmark -c 50 --csv` of one command; latencies in milliseconds. */
export const redisBenchmark = async (
  port: number,
  requests: number,
  command: string[],
): Promise<RedisBenchResult> => {
  const { stdout } = await run(
    "redis-benchmark",
    ["-h", "127.0.0.1", "-p", String(port), "-c", "50", "-n", String(requests), "--csv", ...command],
    { maxBuffer: 1 << 20 },
  );
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const row = stdout.trim().split("\n").pop() ?? "";
  // The command itself may hold commas: the seven figures are the last cells.
  const cells = row
    .split(",")
    .slice(-7)
    .map((c) => c.replace(/"/g, ""));
  const rps = Number(cells[0]);
  if (!Number.isFinite(rps)) throw new Error(`redis-benchmark printed no result:\n${stdout}`);
  return { rps, p50: Number(cells[3]), p99: Number(cells[5]) };
};
