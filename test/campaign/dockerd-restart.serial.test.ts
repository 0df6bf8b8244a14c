import { setTimeout as sleep } from "node:timers/promises";
import Dockerode from "dockerode";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFixture, type Fixture } from "../../fixtures/docker.js";
import { parseRunnerConfig } from "../../runner/config.js";
import { createDockerSide } from "../../runner/docker/docker-side.js";
import { STATE } from "../../runner/docker/labels.js";
import { createRunner, type Runner } from "../../runner/runner.js";
import { keys } from "../../shared/keys.js";
import { isTerminal, type RequestState } from "../../shared/protocol/index.js";
import { size } from "../support/campaign.js";
import { expectConverged } from "../support/campaign-docker.js";
import { type PrivateDockerd, startPrivateDockerd } from "../support/private-dockerd.js";
import { deletePrefix, freshPrefix, testClient } from "../support/redis.js";
import { enqueue, newRequest, testEnv, timeline } from "../support/runner.js";

/**
 * The Docker daemon restarted while the runner rolls a target out. Containers without a restart
 * policy stay stopped after a daemon restart, so the target has `unless-stopped`, as a service
 * that must survive one would. Converged means: the request ends `succeeded` (after a retry), the
 * target runs the requested revision with its replica count, and nothing is left behind.
 *
 * The restart must land inside the rollout however fast rollouts get: the old replicas carry a
 * pre-stop hook that sleeps for HOOK_S seconds, so a rollout lasts at least that long after its
 * new replicas are healthy, and the restart comes at a random moment well inside that span.
 *
 * The daemon is a private one (see private-dockerd.ts), so the restart stops no other test's
 * containers; the file still runs in the serial project, alone, because a second engine and its
 * restart are heavy on a two-core machine.
 */

const RESTARTS = size(1, 5);
/** The pre-stop hook's sleep: longer than the random delay before the restart plus the restart's own stop. */
const HOOK_S = 4;
const MAX_DELAY_MS = 1500;

describe("Docker daemon restarted mid-deploy", { timeout: 600_000 }, () => {
  let dockerd: PrivateDockerd;
  let fx: Fixture;
  let redis: Redis;
  let runner: Runner;
  let runnerRedis: Redis;
  let name: string;
  const prefix = freshPrefix();
  const k = keys(prefix);
  const savedHost = process.env.DOCKER_HOST;

  beforeAll(async () => {
    dockerd = await startPrivateDockerd();
    // The fixture's Dockerode reads DOCKER_HOST when it is made: everything it does goes to the private engine.
    process.env.DOCKER_HOST = dockerd.host;
    fx = await createFixture();
    await fx.service("v1", { text: "v1" });
    name = `hct${fx.id}-dmn`;
    await fx.target({
      name,
      image: `${fx.repo}:v1`,
      replicas: 2,
      env: ["COLOR=start"],
      hostConfig: { RestartPolicy: { Name: "unless-stopped" } },
      labels: {
        "hypercode.actions": "update_config",
        "hypercode.env.allow": "COLOR",
        // The image is FROM scratch: no /bin/sh, so the hook is an argv list.
        "hypercode.prestop": JSON.stringify(["/bin/busybox", "sleep", String(HOOK_S)]),
      },
    });
    redis = testClient();
    runnerRedis = testClient();
    const log = pino({ level: process.env.TEST_RUNNER_LOG ?? "silent" });
    const config = parseRunnerConfig(
      testEnv(prefix, {
        RUNNER_ID: "dmn-runner",
        HYPERCODE_TARGETS: name,
        RETRY_BASE: "500ms",
        RETRY_MAX: "2s",
        MAX_DELIVERIES: "20",
        LOCK_TTL: "10s",
        CLAIM_IDLE: "30s",
      }),
    );
    const side = createDockerSide({
      docker: new Dockerode({ socketPath: dockerd.socketPath }),
      log,
      allowlist: config.targets,
      healthTimeoutMs: 30_000,
    });
    runner = createRunner({ redis: runnerRedis, ...side, config, log });
    await runner.start();
  });

  afterAll(async () => {
    await runner?.stop();
    runnerRedis?.disconnect();
    if (redis) {
      await deletePrefix(redis, prefix);
      redis.disconnect();
    }
    await fx?.cleanup();
    await dockerd?.stop();
    if (savedHost === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = savedHost;
  });

  const stateOf = async (id: string) => (await redis.hget(k.request(id), "state")) as RequestState | null;

  it(`${RESTARTS} restart(s) of dockerd during a rollout: the request is retried and the target converges`, async () => {
    for (let i = 0; i < RESTARTS; i++) {
      const request = newRequest(
        { action: "update_config", env: { COLOR: `c${i}` } },
        { target_agent: name, agent_id: "dmn-agent" },
      );
      await enqueue(redis, prefix, request);
      const started = Date.now() + 30_000;
      while ((await stateOf(request.request_id)) !== "deploying") {
        if (Date.now() > started) throw new Error(`never started: ${await stateOf(request.request_id)}`);
        await sleep(20);
      }
      await sleep(Math.random() * MAX_DELAY_MS);
      await dockerd.restart();

      const deadline = Date.now() + 180_000;
      let state = await stateOf(request.request_id);
      while (!state || !isTerminal(state)) {
        if (Date.now() > deadline) throw new Error(`request still ${state}`);
        await sleep(200);
        state = await stateOf(request.request_id);
      }
      const status = await redis.hgetall(k.request(request.request_id));
      const events = await timeline(redis, prefix, request.request_id);
      const detail = events.map((e) => `${e.state}: ${e.detail}`).join("\n");
      expect(status.state, detail).toBe("succeeded");
      // Retried: a failed attempt went back to the queue before the one that succeeded.
      expect(Number(status.deliveries), detail).toBeGreaterThanOrEqual(2);

      const current = await expectConverged(fx, name, 2, [`${fx.repo}:v1`]);
      expect(current.map((c) => c.Config.Labels[STATE.revision])).toEqual([status.revision, status.revision]);
      for (const c of current) expect(c.Config.Env).toContain(`COLOR=c${i}`);
      process.stdout.write(`dockerd restart ${i + 1}: succeeded after ${status.deliveries} deliveries\n`);
    }
  });
});
