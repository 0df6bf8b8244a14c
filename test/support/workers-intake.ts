import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startRestBridge } from "../../bridge/rest-bridge.js";
import { freePort } from "../../cli/local-redis.js";
import type { RunningIntake, StartIntakeOptions } from "./intake-runtime.js";
import { waitUntilServing } from "./intake-runtime.js";

const ROOT = join(import.meta.dirname, "..", "..");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const START_TIMEOUT_MS = 60_000;
const OUTPUT_KEPT = 16_384;

/**
 * Processes of a group that are still running (zombies waiting for init to reap them do not
 * count). Reads /proc; elsewhere it can only say whether the group exists at all.
 */
export const liveGroupMembers = (pgid: number): number[] => {
  if (!existsSync("/proc/self/stat")) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const live: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp ...; comm may hold spaces, so split after its last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z" && state !== "X") live.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return live;
};

/** Kills the whole process group (wrangler, its esbuild, workerd), politely first. */
const killGroup = async (child: ChildProcess): Promise<void> => {
  const pgid = child.pid as number;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // ESRCH: the group is already gone.
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + 5000;
  let killed = false;
  while (liveGroupMembers(pgid).length > 0 || (child.exitCode === null && child.signalCode === null)) {
    if (Date.now() > deadline) throw new Error(`wrangler's process group ${pgid} survived SIGKILL`);
    // workerd can outlive wrangler's exit; whatever is still running after 3 s is killed.
    if (!killed && Date.now() > deadline - 2000) {
      signal("SIGKILL");
      killed = true;
    }
    await sleep(25);
  }
};

const looksLikePortClash = (output: string) => /EADDRINUSE|address already in use/i.test(output);

/**
 * The intake on the real workerd (`wrangler dev`, local mode, offline), reaching a real Redis
 * through our Upstash REST bridge, exactly as a deployed Worker reaches Upstash.
 */
export const startWorkersIntake = async (
  opts: StartIntakeOptions & {
    /** Return once workerd answers at all, ready or not (to test a misconfigured Worker). */
    anyAnswer?: boolean;
  },
): Promise<WorkersIntake> => {
  const token = `bridge-${crypto.randomUUID()}`;
  const bridge = await startRestBridge({ redisUrl: opts.redisUrl, token });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(opts, bridge.url, token, bridge.close);
      } catch (err) {
        // freePort() cannot reserve a port; another process may take it first. Try new ones.
        if (attempt < 3 && err instanceof PortClash) continue;
        throw err;
      }
    }
  } catch (err) {
    await bridge.close();
    throw err;
  }
};

class PortClash extends Error {}

export interface WorkersIntake extends RunningIntake {
  /** wrangler's pid, which is also its process group's id. */
  readonly pid: number;
  /** The REST bridge the Worker reaches Redis through. */
  readonly bridgeUrl: string;
}

const launch = async (
  opts: StartIntakeOptions & { anyAnswer?: boolean },
  bridgeUrl: string,
  token: string,
  closeBridge: () => Promise<void>,
): Promise<WorkersIntake> => {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const persistDir = mkdtempSync(join(tmpdir(), "hypercode-workerd-"));
  const vars = {
    ...opts.vars,
    KEY_PREFIX: opts.prefix,
    UPSTASH_REDIS_REST_URL: bridgeUrl,
    UPSTASH_REDIS_REST_TOKEN: token,
  };
  const args = [
    WRANGLER,
    "dev",
    "--config",
    join(ROOT, "wrangler.toml"),
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistDir,
    "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // Its own process group, so stop() can take wrangler, esbuild and workerd down together.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await killGroup(child);
      await closeBridge();
      rmSync(persistDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(baseUrl, "workers", {
      timeoutMs: START_TIMEOUT_MS,
      anyAnswer: opts.anyAnswer ?? false,
      failed: () => {
        if (child.exitCode === null && child.signalCode === null) return undefined;
        const why = `wrangler dev exited (${child.exitCode ?? child.signalCode}) before serving:\n${output}`;
        return looksLikePortClash(output) ? new PortClash(why) : new Error(why);
      },
    });
  } catch (err) {
    await killGroup(child);
    rmSync(persistDir, { recursive: true, force: true });
    if (err instanceof PortClash) throw err;
    throw new Error(`${(err as Error).message}\n--- wrangler output ---\n${output}`, { cause: err });
  }
  return { baseUrl, stop, pid: child.pid as number, bridgeUrl };
};
