import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { build } from "esbuild";
import { ROOT } from "./cli.js";

/**
 * Shared pieces of the fault and abuse campaign. `CAMPAIGN=long` turns every loop and property
 * run up to its long size; CI runs the short one.
 */
export const LONG = process.env.CAMPAIGN === "long";

/** `short` in CI, `long` with CAMPAIGN=long. */
export const size = (short: number, long: number): number => (LONG ? long : short);

/**
 * Fixed seeds in CI so a failure replays; CAMPAIGN_SEED overrides (fast-check prints the seed
 * and path of every failure, which is what to put here).
 */
export const seed = (fixed: number): number =>
  process.env.CAMPAIGN_SEED ? Number(process.env.CAMPAIGN_SEED) : LONG ? Date.now() : fixed;

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
  /** From connecting until the server closed (or the wait gave up). */
  closedAfterMs: number;
}

/**
 * Sends raw bytes (what fetch will not send) and reads until the server closes the connection, or
 * `giveUpMs` pass.
 */
export const raw = (baseUrl: string, bytes: string, giveUpMs = 5_000): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const url = new URL(baseUrl);
    const started = Date.now();
    const socket = connect(Number(url.port), url.hostname);
    let data = "";
    socket.setTimeout(giveUpMs, () => socket.destroy());
    socket.on("data", (d) => {
      data += d.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const [head = "", body = ""] = data.split("\r\n\r\n", 2);
      resolve({ status: Number(head.split(" ")[1] ?? 0), head, body, closedAfterMs: Date.now() - started });
    });
    socket.write(bytes, "latin1");
  });

/**
 * Bundles a TypeScript entry next to node_modules (so its bare imports resolve as in production)
 * and returns the bundle's path and a remover.
 */
export const bundleEntry = async (entry: string): Promise<{ file: string; remove: () => void }> => {
  const dir = mkdtempSync(join(ROOT, "node_modules", ".campaign-"));
  const file = join(dir, "entry.mjs");
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile: file,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "error",
  });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
};

export interface ChildRunner {
  readonly process: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

/** Starts a bundled runner entry and resolves once it logged "runner started". */
export const spawnRunner = async (file: string, env: Record<string, string>): Promise<ChildRunner> => {
  const child = spawn(process.execPath, [file], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (d: Buffer) => {
    output += d;
    // Only the tail matters when a test fails; a long campaign must not hoard megabytes.
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 20_000;
  while (!output.includes('"msg":"runner started"')) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`runner exited at start: ${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`runner did not start within 20 s: ${output}`);
    }
    await sleep(25);
  }
  return {
    process: child,
    output: () => output,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
};
