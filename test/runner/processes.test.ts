import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Keys } from "../../shared/keys.js";
import { ROOT } from "../support/cli.js";
import {
  enqueue,
  newRequest,
  pendingEntries,
  perTestPrefix,
  startTestRunner,
  statusOf,
  testEnv,
  timeline,
  waitFor,
  waitForState,
} from "../support/runner.js";

/**
 * The runner as a real process: killed with SIGKILL mid-deploy (another runner must finish the
 * request), and stopped with SIGTERM (it must finish, or hand back after its grace period).
 */

let bundleDir: string;
let bundle: string;

beforeAll(async () => {
  // Next to node_modules, so the bundle's bare imports (ioredis, pino, ...) resolve as they do in production.
  bundleDir = mkdtempSync(join(ROOT, "node_modules", ".runner-test-"));
  bundle = join(bundleDir, "child-runner.mjs");
  await build({
    entryPoints: [join(ROOT, "test", "support", "child-runner.ts")],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "error",
  });
});

afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));

let client: Redis;
let prefix: string;
let k: Keys;
perTestPrefix((t) => ({ client, prefix, k } = t));
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) c.kill("SIGKILL");
  children.clear();
});

interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const spawnRunner = async (env: Record<string, string>): Promise<Child> => {
  const child = spawn(process.execPath, [bundle], {
    env: { PATH: process.env.PATH, ...testEnv(prefix, { LOG_LEVEL: "info", ...env }) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  await waitFor("the child runner to start", () => {
    if (child.exitCode !== null) throw new Error(`child runner exited: ${output}`);
    return output.includes('"msg":"runner started"');
  });
  return { process: child, output: () => output, exited };
};

const deployEvents = () => client.lrange(`${prefix}test:deploys`, 0, -1);
const started = (runner: string, requestId: string) =>
  waitFor(`${runner} to start deploying ${requestId}`, async () =>
    (await deployEvents()).some((e) => e.startsWith(`start ${runner} ${requestId} `)),
  );

describe("runner processes", () => {
  it("a runner killed mid-deploy: a second runner reclaims the entry after the idle time and finishes it", async () => {
    const a = await spawnRunner({ RUNNER_ID: "runner-a", DEPLOY_MS: "60000" });
    const r = newRequest();
    await enqueue(client, prefix, r);
    await started("runner-a", r.request_id);
    a.process.kill("SIGKILL");
    expect((await a.exited).signal).toBe("SIGKILL");
    expect((await statusOf(client, prefix, r.request_id)).state).toBe("deploying");

    const b = await startTestRunner(prefix, { env: { RUNNER_ID: "runner-b" } });
    const done = await waitForState(client, prefix, r.request_id, "succeeded");
    expect(done.runner_id).toBe("runner-b");
    expect(done.deliveries).toBe("2");
    expect(b.deployer.calls.map((c) => c.requestId)).toEqual([r.request_id]);
    const fenceA = Number((await deployEvents())[0]?.split(" ")[3]);
    expect(b.deployer.calls[0]?.fence).toBeGreaterThan(fenceA);
    expect((await timeline(client, prefix, r.request_id)).map((e) => e.detail)).toContain(
      "picked up again after runner runner-a stopped mid-job",
    );
    await waitFor("the entry to be acked", async () => (await pendingEntries(client, prefix)).length === 0);
  });

  it("SIGTERM: stops reading, lets the job in hand finish, releases its lock, exits 0", async () => {
    // A grace far longer than the job: on a loaded machine the job still finishes within it.
    const a = await spawnRunner({ RUNNER_ID: "runner-a", DEPLOY_MS: "1500", STOP_GRACE: "120s" });
    const r = newRequest();
    await enqueue(client, prefix, r);
    await started("runner-a", r.request_id);
    a.process.kill("SIGTERM");
    await waitFor("the runner to stop reading", () => a.output().includes("stopping: no new work"));
    const later = newRequest({ action: "restart" }, { target_agent: "other-agent" });
    await enqueue(client, prefix, later);

    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect((await statusOf(client, prefix, r.request_id)).state).toBe("succeeded");
    expect((await statusOf(client, prefix, later.request_id)).state).toBe("queued");
    expect(await pendingEntries(client, prefix)).toEqual([]);
    expect(await client.exists(k.targetLock("test-agent"))).toBe(0);
    expect(await client.hget(k.runners, "runner-a")).toBeNull();
  });

  it("SIGTERM past the grace period: hands the job back (queued, not acked), exits 0; another runner takes it at once", async () => {
    const a = await spawnRunner({
      RUNNER_ID: "runner-a",
      DEPLOY_MS: "60000",
      STOP_GRACE: "300ms",
      CLAIM_IDLE: "10m",
    });
    const r = newRequest();
    await enqueue(client, prefix, r);
    await started("runner-a", r.request_id);
    a.process.kill("SIGTERM");
    expect(await a.exited).toEqual({ code: 0, signal: null });

    const s = await statusOf(client, prefix, r.request_id);
    expect(s.state).toBe("queued");
    expect(s.detail).toBe("runner runner-a stopped before finishing; handed back to the queue");
    expect((await pendingEntries(client, prefix)).map(([, owner]) => owner)).toEqual(["runner-a"]);
    expect(await client.exists(k.targetLock("test-agent"))).toBe(0);

    // Handed back idle: with a ten-minute claim idle time, only that makes it reclaimable now.
    const b = await startTestRunner(prefix, { env: { RUNNER_ID: "runner-b", CLAIM_IDLE: "10m" } });
    await waitForState(client, prefix, r.request_id, "succeeded");
    expect(b.deployer.calls.map((c) => c.requestId)).toEqual([r.request_id]);
  });
});
