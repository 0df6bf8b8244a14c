import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../cli/local-redis.js";
import { intakeEnvSchema } from "../../edge/config.js";
import { hashApiKey } from "../../shared/api-key.js";
import { keys } from "../../shared/keys.js";
import { SCRIPTS } from "../../shared/lua/scripts.generated.js";
import { improvementSubmission } from "../../shared/protocol/index.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import { runJsonScript } from "../../shared/redis/run-script.js";
import { ensureCliBuilt, killCliProcesses, runCli } from "../support/cli.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

let client: Redis;
const prefixes: string[] = [];

/** A fresh KEY_PREFIX for one test, against the suite's redis-server. */
const store = () => {
  const prefix = freshPrefix();
  prefixes.push(prefix);
  const env = { REDIS_URL: redisUrl(), KEY_PREFIX: prefix };
  return { prefix, env, k: keys(prefix), cli: (...args: string[]) => runCli(args, { env }) };
};

/** Every string stored under a prefix: key names, hash fields and values, set members. */
const everythingUnder = async (prefix: string): Promise<string[]> => {
  const found: string[] = [];
  for (const key of await client.keys(`${prefix}*`)) {
    found.push(key);
    const type = await client.type(key);
    if (type === "hash") found.push(...Object.entries(await client.hgetall(key)).flat());
    else if (type === "set") found.push(...(await client.smembers(key)));
    else if (type === "string") found.push((await client.get(key)) ?? "");
    else throw new Error(`unexpected ${type} at ${key}`);
  }
  return found;
};

const authenticate = async (prefix: string, agentId: string, apiKey: string) =>
  runJsonScript<{ ok: boolean; error?: string }>(
    new IoredisAdapter(client),
    SCRIPTS.authenticate,
    [keys(prefix).agent(agentId)],
    [await hashApiKey(apiKey)],
  );

const API_KEY = /hc1\.[a-z0-9_-]+\.[A-Za-z0-9_-]{43}/g;

beforeAll(() => {
  ensureCliBuilt();
  client = testClient();
});
afterEach(() => killCliProcesses());
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(client, prefix);
  await client.quit();
});

describe("hypercode agents add", () => {
  it("stores only the key's hash, prints the key once with a warning and a curl example that works", async () => {
    const { prefix, k, cli } = store();
    const r = await cli("agents", "add", "deployer", "--targets", "web,api", "--actions", "redeploy,restart");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const printed = r.stdout.match(API_KEY) ?? [];
    expect(printed).toHaveLength(2); // the key line, and the curl example's Authorization header
    const apiKey = printed[0]!;
    expect(printed[1]).toBe(apiKey);
    expect(r.stdout).toContain("cannot be shown again");

    const record = await client.hgetall(k.agent("deployer"));
    expect(record.key_hash).toBe(await hashApiKey(apiKey));
    expect(JSON.parse(record.targets!)).toEqual(["web", "api"]);
    expect(JSON.parse(record.actions!)).toEqual(["redeploy", "restart"]);
    expect([record.rate_limit, record.rate_window_ms]).toEqual(["30", "60000"]);
    const secret = apiKey.split(".")[2]!;
    for (const text of await everythingUnder(prefix)) {
      expect(text).not.toContain(secret);
    }
    expect((await authenticate(prefix, "deployer", apiKey)).ok).toBe(true);

    // The example body is a valid submission, for a target and an action the key allows.
    const body = JSON.parse(/-d '(.*)'/.exec(r.stdout)![1]!);
    const parsed = improvementSubmission.parse(body);
    expect(parsed.target_agent).toBe("web");
    expect(parsed.payload.action).toBe("redeploy");
    expect(r.stdout).toContain("curl -X POST http://127.0.0.1:8787/v1/improvements");
  });

  it("--json prints one object with agent_id and api_key, and --rate sets the limit", async () => {
    const { prefix, cli } = store();
    const r = await cli(
      "agents",
      "add",
      "bot-1",
      "--targets",
      "*",
      "--actions",
      "scale",
      "--rate",
      "5/30s",
      "--json",
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      agent_id: "bot-1",
      targets: ["*"],
      actions: ["scale"],
      rate_limit: 5,
      rate_window_ms: 30_000,
      rate: "5/30s",
      replaced: false,
    });
    expect(out.api_key).toMatch(/^hc1\.bot-1\.[A-Za-z0-9_-]{43}$/);
    expect((await authenticate(prefix, "bot-1", out.api_key)).ok).toBe(true);
  });

  it.each([
    [
      "an invalid agent id",
      ["Bad.Agent", "--targets", "web", "--actions", "restart"],
      /invalid agent id 'Bad\.Agent'/,
    ],
    [
      "an invalid target",
      ["a1", "--targets", "web,../etc", "--actions", "restart"],
      /invalid target '\.\.\/etc'/,
    ],
    [
      "an unknown action",
      ["a1", "--targets", "web", "--actions", "restart,reboot"],
      /unknown action 'reboot'.*choose from restart, redeploy/,
    ],
    [
      "an invalid rate",
      ["a1", "--targets", "web", "--actions", "restart", "--rate", "lots"],
      /invalid --rate 'lots'/,
    ],
    [
      "a zero rate",
      ["a1", "--targets", "web", "--actions", "restart", "--rate", "0/min"],
      /invalid --rate '0\/min'/,
    ],
    ["no targets", ["a1", "--actions", "restart"], /missing --targets/],
    ["no agent id", ["--targets", "web", "--actions", "restart"], /missing <agent_id>/],
    [
      "an unknown option",
      ["a1", "--targets", "web", "--actions", "restart", "--admin"],
      /unknown option '--admin'/,
    ],
  ])("refuses %s with exit 2, a clear message, and writes nothing", async (_, args, message) => {
    const { prefix, cli } = store();
    const r = await cli("agents", "add", ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("Run 'hypercode agents add --help' for usage.");
    expect(r.stdout).toBe("");
    expect(await client.keys(`${prefix}*`)).toEqual([]);
  });

  it("lists every problem of a bad command line at once", async () => {
    const { cli } = store();
    const r = await cli("agents", "add", "A", "--targets", "W", "--actions", "fly", "--rate", "x");
    expect(r.code).toBe(2);
    for (const m of [
      "invalid agent id 'A'",
      "invalid target 'W'",
      "unknown action 'fly'",
      "invalid --rate 'x'",
    ]) {
      expect(r.stderr).toContain(m);
    }
  });

  it("refuses an existing agent unless --replace, which issues a new key and retires the old one", async () => {
    const { prefix, k, cli } = store();
    const first = JSON.parse(
      (await cli("agents", "add", "ops", "--targets", "web", "--actions", "restart", "--json")).stdout,
    );

    const again = await cli("agents", "add", "ops", "--targets", "db", "--actions", "rollback");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/agent 'ops' already exists.*nothing was changed[\s\S]*--replace/);
    expect(again.stdout).not.toMatch(API_KEY);
    expect(JSON.parse((await client.hget(k.agent("ops"), "targets"))!)).toEqual(["web"]);
    expect((await authenticate(prefix, "ops", first.api_key)).ok).toBe(true);

    const replaced = await cli(
      "agents",
      "add",
      "ops",
      "--targets",
      "db",
      "--actions",
      "rollback",
      "--replace",
      "--json",
    );
    expect(replaced.code).toBe(0);
    const second = JSON.parse(replaced.stdout);
    expect(second.replaced).toBe(true);
    expect(second.api_key).not.toBe(first.api_key);
    expect(JSON.parse((await client.hget(k.agent("ops"), "targets"))!)).toEqual(["db"]);
    expect((await authenticate(prefix, "ops", first.api_key)).error).toBe("unauthenticated");
    expect((await authenticate(prefix, "ops", second.api_key)).ok).toBe(true);
  });
});

describe("hypercode agents list and revoke", () => {
  it("lists agents in a table and as JSON, never with a hash", async () => {
    const { prefix, cli } = store();
    expect((await cli("agents", "list")).stdout).toMatch(/^No agents yet/);
    await cli("agents", "add", "zeta", "--targets", "web,api", "--actions", "restart", "--rate", "10/hour");
    await cli("agents", "add", "alpha", "--targets", "*", "--actions", "redeploy,scale");
    const hashes = (await client.keys(`${prefix}hypercode:agent:*`)).map((key) =>
      client.hget(key, "key_hash"),
    );

    const table = await cli("agents", "list");
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^AGENT\s+TARGETS\s+ACTIONS\s+RATE\s+CREATED\s+REVOKED$/);
    expect(lines[1]).toMatch(/^alpha\s+\*\s+redeploy,scale\s+30\/min\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+-$/);
    expect(lines[2]).toMatch(/^zeta\s+web,api\s+restart\s+10\/hour\s+\S+\s+-$/);

    const json = await cli("agents", "list", "--json");
    const { agents } = JSON.parse(json.stdout);
    expect(agents.map((a: { agent_id: string }) => a.agent_id)).toEqual(["alpha", "zeta"]);
    for (const hash of await Promise.all(hashes)) {
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(table.stdout).not.toContain(hash);
      expect(json.stdout).not.toContain(hash);
    }
    expect(json.stdout).not.toContain("key_hash");
  });

  it("revokes an agent: authenticate then answers 'revoked', list shows when; again and unknown say so", async () => {
    const { prefix, cli } = store();
    const { api_key } = JSON.parse(
      (await cli("agents", "add", "leaky", "--targets", "web", "--actions", "restart", "--json")).stdout,
    );

    const revoked = await cli("agents", "revoke", "leaky");
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/Agent 'leaky' revoked at \S+; its key no longer works\./);
    expect(await authenticate(prefix, "leaky", api_key)).toMatchObject({ ok: false, error: "revoked" });
    expect((await cli("agents", "list")).stdout).toMatch(
      /^leaky\s+web\s+restart\s+30\/min\s+\S+Z\s+\d{4}-\S+Z$/m,
    );

    const again = await cli("agents", "revoke", "leaky");
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/was already revoked at .*nothing changed/);

    const unknown = await cli("agents", "revoke", "nobody");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no agent 'nobody' under KEY_PREFIX '\S+'/);

    const bad = await cli("agents", "revoke", "No Body");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid agent id 'No Body'/);
  });

  it("a revoked agent can be given a new key without --replace", async () => {
    const { prefix, cli } = store();
    await cli("agents", "add", "phoenix", "--targets", "web", "--actions", "restart");
    await cli("agents", "revoke", "phoenix");
    const r = await cli("agents", "add", "phoenix", "--targets", "web", "--actions", "restart", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.replaced).toBe(true);
    expect((await authenticate(prefix, "phoenix", out.api_key)).ok).toBe(true);
  });
});

describe("records forged in Redis reach the terminal escaped", () => {
  it("operators list and operators revoke print control characters as escapes", async () => {
    const { k, cli } = store();
    const title = "\u001b]0;owned\u0007";
    // Anyone who can write Redis: a record with escape sequences in every field the CLI prints.
    await client.sadd(k.operatorIndex, "evil");
    await client.hset(k.operator("evil"), {
      operator_id: `evil${title}`,
      created_at: "\u001b[2J\u001b[Hforged",
      revoked_at: `2026-12-01T00:00:00Z${title}`,
      key_hash: "0".repeat(64),
    });
    const list = await cli("operators", "list");
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain("\u001b");
    expect(list.stdout).not.toContain("\u0007");
    expect(list.stdout).toMatch(/^evil\\x1b\]0;owned\\x07\s+\\x1b\[2J\\x1b\[Hforged\s+\S+\\x07$/m);
    const revoke = await cli("operators", "revoke", "evil");
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toBe(
      "Operator 'evil' was already revoked at 2026-12-01T00:00:00Z\\x1b]0;owned\\x07; nothing changed.\n",
    );
  });
});

describe("hypercode errors and help", () => {
  it("exits 1 with the URL and REDIS_URL hint when Redis cannot be reached", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    for (const args of [
      ["agents", "list"],
      ["agents", "add", "x", "--targets", "web", "--actions", "restart"],
    ]) {
      const r = await runCli(args, { env: { REDIS_URL: url } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^hypercode: cannot reach Redis at ${url}: connect ECONNREFUSED \\S+ \\(set REDIS_URL\\)\\n$`,
        ),
      );
    }
  });

  it("masks a password in the Redis URL it prints", async () => {
    const r = await runCli(["agents", "list"], {
      env: { REDIS_URL: `redis://:hunter2@127.0.0.1:${await freePort()}` },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("redis://:***@127.0.0.1:");
    expect(r.stderr).not.toContain("hunter2");
  });

  it("reports a bad configuration variable by name with exit 1", async () => {
    const r = await runCli(["agents", "list"], {
      env: { REDIS_URL: "http://localhost", KEY_PREFIX: "has space" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Invalid hypercode configuration:\n\s+REDIS_URL: must be a redis:\/\//);
    expect(r.stderr).toMatch(/KEY_PREFIX: /);
  });

  it("requires REDIS_URL for intake and REDIS_URL and BRIDGE_TOKEN for bridge", async () => {
    const intake = await runCli(["intake"]);
    expect(intake.code).toBe(1);
    expect(intake.stderr).toMatch(/REDIS_URL: required/);
    const bridge = await runCli(["bridge"], { env: { REDIS_URL: redisUrl() } });
    expect(bridge.code).toBe(1);
    expect(bridge.stderr).toMatch(/BRIDGE_TOKEN: required/);
  });

  it.each([
    [["frob"], "unknown command 'frob'", "hypercode --help"],
    [["--frob"], "unknown option '--frob'", "hypercode --help"],
    [["agents", "frob"], "unknown command 'agents frob'", "hypercode agents --help"],
    [["agents", "list", "--all"], "unknown option '--all'", "hypercode agents list --help"],
    [["agents", "list", "extra"], "unexpected argument 'extra'", "hypercode agents list --help"],
    [["agents", "add", "x", "--targets"], "option '--targets' needs a value", "hypercode agents add --help"],
    [["up", "--detach"], "unknown option '--detach'", "hypercode up --help"],
    [["intake", "--port", "1"], "unknown option '--port'", "hypercode intake --help"],
    [["bridge", "now"], "unexpected argument 'now'", "hypercode bridge --help"],
  ])("%j is a usage error (exit 2) naming the problem and the help to read", async (args, message, help) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`hypercode: ${message}\nRun '${help}' for usage.\n`);
  });

  it("intake --help names every variable the intake reads", async () => {
    const help = (await runCli(["intake", "--help"])).stdout;
    for (const name of Object.keys(intakeEnvSchema.in.shape)) {
      expect(help).toMatch(new RegExp(`^  ${name}\\s`, "m"));
    }
  });

  it("--help documents every command, the exit codes, and each command's own options", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const c of ["up", "intake", "bridge", "agents add", "agents list", "agents revoke"]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${c}\\s`, "m"));
    }
    expect(top.stdout).toMatch(/Exit codes:\n\s+0 .*\n\s+1 [\s\S]*\n\s+2 /);
    const own: [string[], RegExp][] = [
      [
        ["agents", "add"],
        /Usage: hypercode agents add <agent_id> --targets[\s\S]*--rate[\s\S]*--replace[\s\S]*--json/,
      ],
      [["agents", "list"], /Usage: hypercode agents list \[--json\]/],
      [["agents", "revoke"], /Usage: hypercode agents revoke <agent_id>/],
      [["up"], /Usage: hypercode up[\s\S]*REDIS_URL[\s\S]*PORT[\s\S]*HOST/],
      [["intake"], /Usage: hypercode intake[\s\S]*REDIS_URL\s+the Redis to use \(required\)/],
      [["bridge"], /Usage: hypercode bridge[\s\S]*BRIDGE_TOKEN/],
      [["agents"], /Usage: hypercode agents <command>[\s\S]*add[\s\S]*list[\s\S]*revoke/],
    ];
    for (const [words, usage] of own) {
      for (const flag of ["--help", "-h"]) {
        const r = await runCli([...words, flag]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(usage);
      }
    }
  });
});
