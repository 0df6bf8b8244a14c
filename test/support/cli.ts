import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Helpers to run the real, built `hypercode` (bin/hypercode.mjs → dist/cli.mjs) as a process. */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BIN = join(ROOT, "bin", "hypercode.mjs");
const BUNDLE = join(ROOT, "dist", "cli.mjs");
const SOURCES = ["cli", "shared", "edge", "bridge", "runner", "scripts/build.mjs"];

const newestMtime = (path: string): number => {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
};

/** Rebuilds dist/ when any source is newer than it, so the tests never run a stale bundle. */
export const ensureCliBuilt = (): void => {
  const built = existsSync(BUNDLE) ? statSync(BUNDLE).mtimeMs : 0;
  if (Math.max(...SOURCES.map((s) => newestMtime(join(ROOT, s)))) <= built) return;
  execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: "inherit" });
};

export interface CliOptions {
  /** Added to a bare environment (PATH and HOME only): nothing leaks in from the test's own. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Spawned as the leader of its own process group (spawnCli only). */
  processGroup?: boolean;
  /** Written to the process's standard input, which is then closed; without it, stdin is /dev/null. */
  stdin?: string;
}

const environment = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
};

const children = new Set<ChildProcess>();

/** Starts `hypercode <args>`; the process is killed by `killCliProcesses` if a test leaves it running. */
export const spawnCli = (args: readonly string[], opts: CliOptions = {}): ChildProcess => {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: environment(opts.env),
    stdio: [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    // A group of its own, as a shell gives a foreground job: a terminal's Ctrl-C is a SIGINT to it.
    detached: opts.processGroup,
  });
  child.stdin?.end(opts.stdin);
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
};

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects a process's output until it exits. */
export const finished = (child: ChildProcess): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => {
      stdout += d;
    });
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

/** Runs `hypercode <args>` to its end. */
export const runCli = (args: readonly string[], opts: CliOptions = {}): Promise<CliResult> =>
  finished(spawnCli(args, opts));

/** Resolves with everything written to `stream` once it matches `pattern`; rejects if the process ends first. */
export const waitForOutput = (
  child: ChildProcess,
  stream: "stdout" | "stderr",
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(
      () => done(new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms:\n${text}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      text += d;
      if (pattern.test(text)) done();
    };
    const onExit = (code: number | null) =>
      done(new Error(`hypercode exited (${code}) before ${pattern}:\n${text}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      child[stream]?.off("data", onData);
      child.off("exit", onExit);
      if (err) reject(err);
      else resolve(text);
    };
    child[stream]?.on("data", onData);
    child.once("exit", onExit);
  });

/** Kills whatever `hypercode` processes a failed test left behind. */
export const killCliProcesses = (): void => {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
};

/** Whether a process with this pid still exists. */
export const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};
