import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../cli/local-redis.js";
import { keys, RUNNER_GROUP } from "../../shared/keys.js";
import {
  ensureCliBuilt,
  finished,
  killCliProcesses,
  ROOT,
  runCli,
  spawnCli,
  waitForOutput,
} from "../support/cli.js";
import { uniqueName } from "../support/fixtures.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

let client: Redis;
const prefix = freshPrefix();

beforeAll(() => {
  ensureCliBuilt();
  client = testClient();
});
afterEach(() => killCliProcesses());
afterAll(async () => {
  await deletePrefix(client, prefix);
  await client.quit();
});

/** The variables runner/config.ts reads: the keys of its environment schema. */
const runnerVariables = (): string[] => {
  const source = readFileSync(join(ROOT, "runner", "config.ts"), "utf8");
  const block = source.slice(source.indexOf("z\n    .object({"), source.indexOf("})\n    .superRefine"));
  return [...block.matchAll(/^ {6}([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]!);
};

describe("hypercode runner", () => {
  it("--help names every variable the runner reads, and DOCKER_HOST", async () => {
    const r = await runCli(["runner", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: hypercode runner\n/);
    const names = runnerVariables();
    expect(names.length).toBeGreaterThan(15);
    for (const name of [...names, "DOCKER_HOST"]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${name}\\s`, "m"));
    }
  });

  it("a bad variable or an unreachable Redis stops it at once with exit 1, saying which", async () => {
    const bad = await runCli(["runner"], { env: { REDIS_URL: redisUrl(), MAX_DELIVERIES: "0" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^hypercode: Invalid runner configuration:\n\s+MAX_DELIVERIES: /);

    const url = `redis://127.0.0.1:${await freePort()}`;
    const away = await runCli(["runner"], { env: { REDIS_URL: url } });
    expect(away.code).toBe(1);
    expect(away.stderr).toMatch(
      new RegExp(`^hypercode: cannot reach Redis at ${url}: .*\\(set REDIS_URL\\)\\n$`),
    );
  });

  it("runs until SIGTERM: joins the consumer group, serves /healthz, then stops cleanly with exit 0", async () => {
    const child = spawnCli(["runner"], {
      env: {
        REDIS_URL: redisUrl(),
        KEY_PREFIX: prefix,
        RUNNER_ID: uniqueName("cli-runner"),
        RUNNER_PORT: "0",
        RUNNER_HOST: "127.0.0.1",
        // A target no container has: this runner serves nothing and touches no one's containers.
        HYPERCODE_TARGETS: uniqueName("nothing"),
        LOG_LEVEL: "warn",
      },
    });
    const done = finished(child);
    const started = await waitForOutput(child, "stderr", /started .* on 127\.0\.0\.1:(\d+)\)/);
    const port = /on 127\.0\.0\.1:(\d+)\)/.exec(started)![1];
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const groups = (await client.xinfo("GROUPS", keys(prefix).requestStream)) as unknown[][];
    expect(groups.map((g) => g[1])).toContain(RUNNER_GROUP);

    child.kill("SIGTERM");
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/SIGTERM: stopping\.\.\.\nhypercode: stopped\.\n$/);
  });
});
