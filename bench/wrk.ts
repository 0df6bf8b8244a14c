import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  /** Latencies in milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Answers outside 2xx/3xx. */
  readonly non2xx: number;
  /** Connect, read, write errors and timeouts. */
  readonly socketErrors: number;
}

const luaString = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/**
 * `wrk --latency -t1 -c50` POSTing one JSON body with the given headers; a Lua `done` hook prints
 * the figures as one JSON line, so nothing depends on wrk's human-readable layout.
 */
export const wrkPost = async (
  url: string,
  body: string,
  headers: Record<string, string>,
  seconds: number,
  connections = 50,
): Promise<WrkResult> => {
  const dir = mkdtempSync(join(tmpdir(), "hc-bench-wrk-"));
  const script = join(dir, "post.lua");
  writeFileSync(
    script,
    [
      'wrk.method = "POST"',
      `wrk.body = ${luaString(body)}`,
      'wrk.headers["Content-Type"] = "application/json"',
      ...Object.entries(headers).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`),
      "done = function(summary, latency, requests)",
      "  local e = summary.errors",
      '  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"max\\":%d,\\"status\\":%d,\\"socket\\":%d}\\n",',
      "    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,",
      "    e.status, e.connect + e.read + e.write + e.timeout))",
      "end",
      "",
    ].join("\n"),
  );
  try {
    const { stdout } = await run(
      "wrk",
      ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url],
      { maxBuffer: 1 << 20 },
    );
    const line = stdout.split("\n").find((l) => l.startsWith("WRKJSON "));
    if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
    const r = JSON.parse(line.slice(8));
    return {
      requests: r.requests,
      rps: r.requests / (r.duration_us / 1e6),
      p50: r.p50 / 1000,
      p99: r.p99 / 1000,
      max: r.max / 1000,
      non2xx: r.status,
      socketErrors: r.socket,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
