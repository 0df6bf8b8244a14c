import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/**
 * A benchmark server in its own Node process (bundled by scripts/run-ts.mjs, so it runs what
 * ships, not a test transform), with its memory its own and its stdout readable line by line.
 */
export interface BenchProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Called with each stdout line. */
  onLine(listener: (line: string) => void): void;
  /** Peak resident memory so far (VmHWM), in MiB. */
  peakRssMiB(): number;
  /** CPU time used so far (user + system), in milliseconds. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export const startProcess = async (
  entry: string,
  env: Record<string, string>,
  ready: RegExp,
  nodeArgs: string[] = [],
): Promise<BenchProcess & { readonly readyLine: string }> => {
  const child = spawn(process.execPath, [...nodeArgs, "scripts/run-ts.mjs", entry], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const listeners: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    for (const l of listeners) l(line);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not start within 30 s: ${stderr}`)),
      30_000,
    );
    listeners.push((line) => {
      if (ready.test(line)) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once("exit", (code) => reject(new Error(`${entry} exited (${code}) at start: ${stderr}`)));
  });
  return {
    child,
    pid: child.pid as number,
    readyLine,
    onLine: (l) => listeners.push(l),
    peakRssMiB: () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      return m ? Number(m[1]) / 1024 : Number.NaN;
    },
    cpuMs: () => {
      // Fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
      const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
};
