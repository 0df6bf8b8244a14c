import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildContext,
  containersOf,
  createFixture,
  deployContext,
  type Fixture,
  requestFor,
  silentLog,
  startLoadClient,
  waitUntilHealthy,
  writeServiceContext,
} from "../../fixtures/docker.js";
import { createDockerSide } from "../../runner/docker/docker-side.js";
import type { Section, Settings } from "../section.js";
import { fmt, fmtSummary, summarise } from "../stats.js";

interface Window {
  readonly ms: number;
  readonly requests: number;
  readonly failed: number;
  readonly firstAddressFailed: number;
}

const startLoad = async (fx: Fixture, alias: string) => {
  const client = await startLoadClient(fx, alias);
  /** Runs `during` under the load and counts what the client saw meanwhile. */
  const measure = async (during: () => Promise<void>): Promise<Window> => {
    const { ms, marks } = await client.measure(during);
    return {
      ms,
      requests: marks.length,
      failed: [...marks].filter((m) => m === "x").length,
      firstAddressFailed: [...marks].filter((m) => m !== ".").length,
    };
  };
  return { stop: client.stop, measure };
};

/**
 * The test fixture's service, with its one RUN step turned into a LABEL: the build arg still makes
 * every rebuild a new image, and the build starts no container, so it needs no bridge network
 * (other work on a shared machine may run a daemon without one).
 */
const serviceWithoutRun = async (fx: Fixture): Promise<string> => {
  const context = join(fx.dir, "bench-ctx");
  await writeServiceContext(context, fx.id, { text: "v1" });
  const file = join(context, "Dockerfile");
  writeFileSync(
    file,
    readFileSync(file, "utf8").replace(/^RUN .*$/m, "LABEL hypercode.bench.greeting=$GREETING"),
  );
  await buildContext(fx.docker, context, `${fx.repo}:v1`);
  return context;
};

/**
 * Section 3: `rebuild` of a 2-replica busybox service through the real Docker side (build, start
 * the new replicas beside the old, wait for health, drain and stop the old), next to what
 * Watchtower does (stop both, start both, wait until healthy), alternating, under a constant load.
 */
export const rolloutSection = async (s: Settings): Promise<Section> => {
  const fx = await createFixture();
  try {
    const context = await serviceWithoutRun(fx);
    const name = `hct${fx.id}-bench`;
    const alias = `${name}-svc`;
    await fx.target({
      name,
      image: `${fx.repo}:v1`,
      replicas: 2,
      alias,
      labels: {
        "hypercode.actions": "rebuild",
        "hypercode.build.context": context,
        "hypercode.build.args": "GREETING",
      },
    });
    const load = await startLoad(fx, alias);
    const { deployer } = createDockerSide({ log: silentLog, healthTimeoutMs: 60_000 });
    const rollouts: Window[] = [];
    /** From the deployer's "deploying" progress (the build done) to the end. */
    const rolloutOnly: number[] = [];
    const stopStarts: Window[] = [];
    const runs = s.quick ? 1 : 3;
    for (let i = 0; i < runs; i++) {
      let deployingAt = Number.NaN;
      rollouts.push(
        await load.measure(async () => {
          const ctx = deployContext(
            requestFor(name, { action: "rebuild", build_args: { GREETING: `bench-${i}` } }),
          );
          const outcome = await deployer.deploy({
            ...ctx,
            progress: async (state) => {
              if (state === "deploying" && Number.isNaN(deployingAt)) deployingAt = Date.now();
            },
          });
          if (outcome.state !== "succeeded") throw new Error(`rebuild ${outcome.state}: ${outcome.detail}`);
          rolloutOnly.push(Date.now() - deployingAt);
        }),
      );
      const replicas = await containersOf(fx, name);
      stopStarts.push(
        await load.measure(async () => {
          await Promise.all(replicas.map((c) => fx.docker.getContainer(c.Id).stop()));
          await Promise.all(replicas.map((c) => fx.docker.getContainer(c.Id).start()));
          for (const c of replicas) await waitUntilHealthy(fx.docker, c.Id, 60_000);
        }),
      );
    }
    await load.stop();

    const sum = (w: Window[], f: (x: Window) => number) => w.reduce((a, x) => a + f(x), 0);
    const rolloutMs = summarise(rollouts.map((w) => w.ms));
    const stopStartMs = summarise(stopStarts.map((w) => w.ms));
    const failed = sum(rollouts, (w) => w.failed);
    const wallRatio = rolloutMs.median / stopStartMs.median;
    const row = (what: string, w: Window[], ms: ReturnType<typeof summarise>) =>
      `| ${what} | ${fmtSummary(ms, 0, " ms")} | ${sum(w, (x) => x.requests)} | **${sum(w, (x) => x.failed)}** | ${sum(w, (x) => x.firstAddressFailed)} |`;
    return {
      title: "3. Rollout",
      body: [
        `A 2-replica busybox httpd service (FROM scratch, no RUN step, HEALTHCHECK every 500 ms, graceful stop of 300 ms) on a private network; a client container on that network keeps 4 request loops going through the alias (Docker DNS, then each address in turn, as common HTTP clients do). ${runs} alternating run(s) of each, through the real Docker side (\`createDockerSide\`, the runner's deployer): \`rebuild\` builds a new image and rolls it out start-first; stop-then-start stops both replicas, starts them again and waits until both are healthy (Watchtower's method plus the health wait). A window counts the requests that started during it (each request reads the window it starts in), waiting for the ones still in flight when it ends: a request stuck on a dead address counts where it started, not in the next window.`,
        "",
        "| method | wall time median (min–max) | requests | failed (no address answered) | first address failed |",
        "|---|---|---|---|---|",
        row("rebuild (build + start-first rollout)", rollouts, rolloutMs),
        row("stop-then-start + health wait (baseline)", stopStarts, stopStartMs),
        "",
        `- Rollout / stop-then-start wall time: **${fmt(wallRatio, 2)}×** (target ≤ 1.5×: ${wallRatio <= 1.5 ? "met" : "**missed**"}). The rebuild's time includes building the image, which stop-then-start does not do.`,
        `- Without the build (from the deployer's "deploying" progress to the end): ${fmtSummary(summarise(rolloutOnly), 0, " ms")}, ${fmt(summarise(rolloutOnly).median / stopStartMs.median, 2)}× stop-then-start.`,
        `- Failed requests during rollouts: ${failed} (target 0: ${failed === 0 ? "met" : "**missed**"}).`,
        "- Everything is labelled `hypercode.test=<run id>` and removed at the end (containers, images, network).",
      ].join("\n"),
      targets: [
        { name: "rollout: zero failed requests", figure: `${failed} failed`, met: failed === 0 },
        {
          name: "rollout wall time ≤ 1.5× stop-then-start + health wait",
          figure: `${fmt(wallRatio, 2)}× (${fmt(rolloutMs.median)} vs ${fmt(stopStartMs.median)} ms)`,
          met: wallRatio <= 1.5,
        },
      ],
    };
  } finally {
    await fx.cleanup();
  }
};
