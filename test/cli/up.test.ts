import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../cli/local-redis.js";
import { keys } from "../../shared/keys.js";
import {
  BIN,
  ensureCliBuilt,
  finished,
  isRunning,
  killCliProcesses,
  runCli,
  spawnCli,
  waitForOutput,
} from "../support/cli.js";
import { publishTarget } from "../support/fixtures.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

const dirs: string[] = [];
const pids: number[] = [];
const prefixes: string[] = [];

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "hypercode-cli-up-"));
  dirs.push(dir);
  return dir;
};

/** What `up` printed: the intake URL, the private Redis and the command for the first agent key. */
const parseUp = (stdout: string) => {
  const intakeUrl = /^\s+intake\s+(http:\/\/\S+)/m.exec(stdout)?.[1];
  const redis = /^\s+redis\s+(redis:\/\/\S+)(?:\s+\(redis-server pid (\d+))?/m.exec(stdout);
  const hint = /^\s+((?:[A-Z_]+=\S+ )+)node (\S+) (agents add .*)$/m.exec(stdout);
  if (!intakeUrl || !redis || !hint) throw new Error(`unexpected output of up:\n${stdout}`);
  const pid = redis[2] ? Number(redis[2]) : undefined;
  if (pid) pids.push(pid);
  return {
    intakeUrl,
    redisUrl: redis[1]!,
    redisPid: pid,
    hint: {
      env: Object.fromEntries(
        hint[1]!
          .trim()
          .split(" ")
          .map((kv) => kv.split("=") as [string, string]),
      ),
      bin: hint[2]!,
      args: hint[3]!.split(" "),
    },
  };
};

beforeAll(() => ensureCliBuilt());
afterEach(() => {
  killCliProcesses();
  for (const pid of pids.splice(0)) if (isRunning(pid)) process.kill(pid, "SIGKILL");
});
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  const client = testClient();
  for (const prefix of prefixes) await deletePrefix(client, prefix);
  await client.quit();
});

/** Most `up` tests are about the intake and Redis: no runner, so nothing else touches their data. */
const NO_DOCKER = { DOCKER_HOST: "tcp://127.0.0.1:9" };

describe("hypercode up", () => {
  it("starts the runner too when a Docker engine answers, and stops it on SIGTERM", async () => {
    const up = spawnCli(["up"], {
      cwd: tempDir(),
      env: { PORT: "0", RUNNER_PORT: "0", RUNNER_ID: "up-runner", HYPERCODE_TARGETS: "none-here" },
    });
    const result = finished(up);
    const out = await waitForOutput(up, "stdout", /Press Ctrl-C to stop/);
    const metrics = /runner {2}up-runner {2}\(GET (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(out);
    expect(metrics, out).not.toBeNull();
    const scrape = await fetch(metrics![1] as string);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain("hypercode_");
    // Bound like the intake (HOST, 127.0.0.1 by default), not on every interface.
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i?.family === "IPv4" && !i.internal)?.address;
    expect(external, "this test needs a non-loopback IPv4 address").toBeDefined();
    const port = new URL(metrics![1] as string).port;
    await expect(fetch(`http://${external}:${port}/metrics`)).rejects.toThrow();
    up.kill("SIGTERM");
    expect((await result).code).toBe(0);
    await expect(fetch(metrics![1] as string)).rejects.toThrow();
  });

  it("says why no runner runs when no Docker engine answers, and serves the intake anyway", async () => {
    const up = spawnCli(["up"], { cwd: tempDir(), env: { ...NO_DOCKER, PORT: "0" } });
    const result = finished(up);
    const out = await waitForOutput(up, "stdout", /Press Ctrl-C to stop/);
    expect(out).toMatch(/runner {2}not started: no Docker engine answered/);
    up.kill("SIGINT");
    expect((await result).code).toBe(0);
  });

  it("without REDIS_URL runs its own redis-server and the intake, explains the first key, and stops both on SIGINT", async () => {
    const cwd = tempDir();
    const port = await freePort();
    const up = spawnCli(["up"], { cwd, env: { ...NO_DOCKER, PORT: String(port) } });
    const result = finished(up);
    const printed = parseUp(await waitForOutput(up, "stdout", /Press Ctrl-C to stop/));
    expect(printed.intakeUrl).toBe(`http://127.0.0.1:${port}`);
    expect(printed.redisPid).toBeGreaterThan(0);
    expect(isRunning(printed.redisPid!)).toBe(true);
    expect(existsSync(join(cwd, ".hypercode", "redis", "appendonlydir"))).toBe(true);

    const health = await fetch(`${printed.intakeUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", runtime: "node" });

    // The printed command works as printed, and the curl example it prints is accepted.
    expect(printed.hint.env).toEqual({ REDIS_URL: printed.redisUrl });
    expect(printed.hint.bin).toBe(BIN);
    const add = await runCli(printed.hint.args, { cwd, env: { ...printed.hint.env, PORT: String(port) } });
    expect(add.code).toBe(0);
    const redis = new Redis(printed.redisUrl);
    await publishTarget(redis, "", "my-service", ["restart", "redeploy"]);
    await redis.quit();
    const apiKey = /Bearer (\S+)'/.exec(add.stdout)![1];
    const body = /-d '(.*)'/.exec(add.stdout)![1];
    const submit = await fetch(`${printed.intakeUrl}/v1/improvements`, {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body,
    });
    expect(submit.status).toBe(202);

    up.kill("SIGINT");
    const end = await result;
    expect(end.code).toBe(0);
    expect(end.stderr).toMatch(/SIGINT: stopping\.\.\.\nhypercode: stopped\.\n$/);
    expect(isRunning(printed.redisPid!)).toBe(false);
    await expect(fetch(`${printed.intakeUrl}/healthz`)).rejects.toThrow();

    // The private Redis keeps its data (append-only file) for the next `up` in the same directory.
    const again = spawnCli(["up"], { cwd, env: { ...NO_DOCKER, PORT: "0" } });
    const againResult = finished(again);
    const second = parseUp(await waitForOutput(again, "stdout", /Press Ctrl-C to stop/));
    const list = await runCli(["agents", "list"], { env: { REDIS_URL: second.redisUrl } });
    expect(list.stdout).toMatch(/^my-agent\s+my-service\s+restart,redeploy\s/m);
    again.kill("SIGTERM");
    expect((await againResult).code).toBe(0);
    expect(isRunning(second.redisPid!)).toBe(false);
  });

  it("stops its redis-server last on a terminal's Ctrl-C, so no client sees it vanish", async () => {
    // Runner and intake both hold Redis connections; with the server in the terminal's process
    // group it died with the Ctrl-C and they logged ioredis connection errors while closing.
    const up = spawnCli(["up"], { cwd: tempDir(), env: { PORT: "0", RUNNER_PORT: "0" }, processGroup: true });
    const result = finished(up);
    const printed = parseUp(await waitForOutput(up, "stdout", /Press Ctrl-C to stop/));
    expect(printed.redisPid).toBeGreaterThan(0);
    process.kill(-(up.pid as number), "SIGINT");
    const end = await result;
    expect(end.code).toBe(0);
    expect(end.stderr).not.toMatch(/ECONNREFUSED|Unhandled error event|redis-server shut down/);
    expect(end.stderr).toMatch(/SIGINT: stopping\.\.\.\n[\s\S]*hypercode: stopped\.\n$/);
    expect(isRunning(printed.redisPid!)).toBe(false);
  });

  it("says how to install redis-server and exits 1 when it is not on the PATH", async () => {
    const cwd = tempDir();
    const r = await runCli(["up"], { cwd, env: { ...NO_DOCKER, PATH: tempDir(), PORT: "0" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^hypercode: redis-server was not found on the PATH\. Install it .*apt-get install redis-server/,
    );
    expect(r.stdout).toBe("");
  });

  it("stops before starting anything when the intake's configuration is invalid", async () => {
    const cwd = tempDir();
    const r = await runCli(["up"], { cwd, env: { ...NO_DOCKER, PORT: "0", MAX_BODY_BYTES: "lots" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Invalid intake configuration:\n\s+MAX_BODY_BYTES: /);
    expect(existsSync(join(cwd, ".hypercode"))).toBe(false);
  });

  it("exits 1 and stops the intake when its private redis-server dies", async () => {
    const up = spawnCli(["up"], { cwd: tempDir(), env: { ...NO_DOCKER, PORT: "0" } });
    const result = finished(up);
    const printed = parseUp(await waitForOutput(up, "stdout", /Press Ctrl-C to stop/));
    process.kill(printed.redisPid!, "SIGKILL");
    const end = await result;
    expect(end.code).toBe(1);
    expect(end.stderr).toMatch(/redis-server stopped unexpectedly \(SIGKILL\)/);
    await expect(fetch(`${printed.intakeUrl}/healthz`)).rejects.toThrow();
  });

  it("with REDIS_URL uses that Redis, starts none, and names KEY_PREFIX in the printed command", async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const cwd = tempDir();
    const up = spawnCli(["up"], {
      cwd,
      env: { ...NO_DOCKER, REDIS_URL: redisUrl(), KEY_PREFIX: prefix, PORT: "0" },
    });
    const result = finished(up);
    const printed = parseUp(await waitForOutput(up, "stdout", /Press Ctrl-C to stop/));
    expect(printed.redisUrl).toBe(redisUrl());
    expect(printed.redisPid).toBeUndefined();
    expect(printed.hint.env).toEqual({ REDIS_URL: redisUrl(), KEY_PREFIX: prefix });
    expect(existsSync(join(cwd, ".hypercode"))).toBe(false);
    expect((await fetch(`${printed.intakeUrl}/readyz`)).status).toBe(200);
    up.kill("SIGTERM");
    expect((await result).code).toBe(0);
  });

  it("exits 1 naming the URL when REDIS_URL cannot be reached", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const r = await runCli(["up"], { cwd: tempDir(), env: { ...NO_DOCKER, REDIS_URL: url, PORT: "0" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(`cannot reach Redis at ${url}: connect ECONNREFUSED`);
  });

  it("names PORT when the port is taken", async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const first = spawnCli(["intake"], { env: { REDIS_URL: redisUrl(), KEY_PREFIX: prefix, PORT: "0" } });
    const url = /listening on (http:\/\/\S+) /.exec(
      await waitForOutput(first, "stdout", /listening on/),
    )![1]!;
    const port = new URL(url).port;
    const r = await runCli(["up"], {
      cwd: tempDir(),
      env: { ...NO_DOCKER, REDIS_URL: redisUrl(), KEY_PREFIX: prefix, PORT: port },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`hypercode: 127.0.0.1:${port} is already in use (set PORT or HOST)`);
  });
});

describe("hypercode intake and bridge", () => {
  it("intake serves on PORT against REDIS_URL and stops on SIGTERM", async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const intake = spawnCli(["intake"], { env: { REDIS_URL: redisUrl(), KEY_PREFIX: prefix, PORT: "0" } });
    const result = finished(intake);
    const url = /Intake listening on (http:\/\/\S+) /.exec(
      await waitForOutput(intake, "stdout", /listening on/),
    )![1]!;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const unauthenticated = await fetch(`${url}/v1/improvements`, { method: "POST", body: "{}" });
    expect(unauthenticated.status).toBe(401);
    intake.kill("SIGTERM");
    const end = await result;
    expect(end.code).toBe(0);
    expect(end.stderr).toMatch(/SIGTERM: stopping\.\.\.\nhypercode: stopped\.\n$/);
  });

  it("bridge speaks the REST protocol with BRIDGE_TOKEN and stops on SIGINT", async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const token = "test-token-0123456789";
    const bridge = spawnCli(["bridge"], {
      env: { REDIS_URL: redisUrl(), BRIDGE_TOKEN: token, BRIDGE_PORT: "0" },
    });
    const result = finished(bridge);
    const url = /bridge listening on (http:\/\/\S+) /.exec(
      await waitForOutput(bridge, "stdout", /listening on/),
    )![1]!;
    const send = (auth: string, command: unknown[]) =>
      fetch(url, { method: "POST", headers: { Authorization: auth }, body: JSON.stringify(command) });
    const key = keys(prefix).agentIndex;
    expect(await (await send(`Bearer ${token}`, ["SADD", key, "via-bridge"])).json()).toEqual({ result: 1 });
    const client = testClient();
    expect(await client.smembers(key)).toEqual(["via-bridge"]);
    await client.quit();
    expect((await send("Bearer wrong", ["PING"])).status).toBe(401);
    bridge.kill("SIGINT");
    expect((await result).code).toBe(0);
  });
});
