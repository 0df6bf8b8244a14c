import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../cli/local-redis.js";
import { startNodeIntake } from "../../edge/node/server.js";
import { generateApiKey } from "../../shared/api-key.js";
import { keys } from "../../shared/keys.js";
import { acceptedSchema, statusViewSchema, targetsSchema } from "../../shared/protocol/http.js";
import { ACTIONS, type Action, fieldsToRecord, type RequestState } from "../../shared/protocol/index.js";
import {
  type CliResult,
  ensureCliBuilt,
  finished,
  killCliProcesses,
  runCli,
  spawnCli,
} from "../support/cli.js";
import { addAgent, publishTarget, transition, uniqueName } from "../support/fixtures.js";
import type { RunningIntake } from "../support/intake-runtime.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";
import { expectSubmitRefusals, type SubmitRefusal } from "../support/submit-refusals.js";

/**
 * `hypercode submit | status | watch | targets`: the real, built CLI against a real Node intake
 * and Redis. The intake closes its live feeds after FEED_MAX = 1 s, so every follow that lasts
 * longer has to resume with Last-Event-ID.
 */

let client: Redis;
let intake: RunningIntake;
const prefix = freshPrefix();
const k = keys(prefix);
const ALL = [...ACTIONS];

beforeAll(async () => {
  ensureCliBuilt();
  client = testClient();
  intake = await startNodeTestIntake({
    redisUrl: redisUrl(),
    prefix,
    vars: { FEED_POLL: "50ms", FEED_MAX: "1s" },
  });
  await publishTarget(client, prefix, "web", ALL, { replicas: 2, revision: "r7" });
  await publishTarget(client, prefix, "api", ["restart"]);
  await publishTarget(client, prefix, "db", ALL);
});
afterEach(() => killCliProcesses());
afterAll(async () => {
  await intake?.stop();
  await deletePrefix(client, prefix);
  await client.quit();
});

/** A new agent (its own rate window and idempotency keys) and a CLI that speaks as it. */
const agent = async (opts: { targets?: string[]; actions?: Action[]; rate?: number } = {}) => {
  const id = uniqueName("bot");
  const key = await addAgent(client, prefix, {
    id,
    targets: opts.targets ?? ["web", "api"],
    actions: opts.actions ?? ALL,
    rate: opts.rate,
  });
  const env = { HYPERCODE_URL: intake.baseUrl, HYPERCODE_KEY: key };
  return { id, key, env, cli: (...args: string[]) => runCli(args, { env }) };
};

/** Request stream entries whose payload is this request. */
const entriesOf = async (requestId: string) =>
  (await client.xrange(k.requestStream, "-", "+"))
    .map(([, fields]) => JSON.parse(fieldsToRecord(fields).payload ?? "{}"))
    .filter((p) => p.request_id === requestId);

/** A CLI process whose output can be awaited line by line while it runs. */
const live = (args: string[], env: Record<string, string>) => {
  const child = spawnCli(args, { env });
  const result: Promise<CliResult> = finished(child);
  const text = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d) => {
    text.stdout += d;
  });
  child.stderr?.on("data", (d) => {
    text.stderr += d;
  });
  const until = async (stream: "stdout" | "stderr", pattern: RegExp): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const m = text[stream].match(pattern);
      if (m) return m;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} on ${stream}:\n${text.stdout}\n${text.stderr}`);
      }
      await sleep(20);
    }
  };
  return { result, until };
};

const jsonLines = (text: string) =>
  text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

const move = (id: string, to: RequestState, detail = "", fields: Record<string, string> = {}) =>
  transition(client, prefix, id, to, detail, fields).then((r) => expect(r.ok).toBe(true));

describe("hypercode submit", () => {
  it("prints the request id, and the stream holds the request the options describe", async () => {
    const { id: agentId, cli } = await agent();
    const r = await cli(
      "submit",
      "--target",
      "web",
      "--action",
      "rebuild",
      "--build-arg",
      "VERSION=2.1",
      "--build-arg",
      "EMPTY=",
      "--no-cache",
      "--description",
      "a faster build",
    );
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(r.stdout).toBe(`${id}\n`);
    expect(r.stderr).toContain(`watch ${id}`);
    const [entry, ...more] = await entriesOf(id);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      agent_id: agentId,
      target_agent: "web",
      improvement_type: "performance",
      description: "a faster build",
      payload: { action: "rebuild", build_args: { VERSION: "2.1", EMPTY: "" }, no_cache: true },
    });
    // An Idempotency-Key went with it, though none was given.
    expect(await client.keys(`${k.idempotency(agentId, "")}*`)).toHaveLength(1);
  });

  it("--json prints the intake's 202 body; update_config sends set and unset variables", async () => {
    const { cli } = await agent();
    const r = await cli(
      "submit",
      "--target",
      "web",
      "--action",
      "update_config",
      "--env",
      "LOG_LEVEL=debug",
      "--unset-env",
      "OLD_FLAG",
      "--type",
      "CONFIGURATION",
      "--json",
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const accepted = acceptedSchema.parse(JSON.parse(r.stdout));
    expect(accepted.status).toBe("queued");
    expect(accepted.status_url).toBe(`/v1/improvements/${accepted.request_id}`);
    const [entry] = await entriesOf(accepted.request_id);
    expect(entry.improvement_type).toBe("configuration");
    expect(entry.payload).toEqual({ action: "update_config", env: { LOG_LEVEL: "debug", OLD_FLAG: null } });
  });

  it("run again with the same --idempotency-key, answers the first request's id and submits nothing new", async () => {
    const { cli } = await agent();
    const args = ["submit", "--target", "web", "--action", "scale", "--replicas", "3"];
    const first = await cli(...args, "--idempotency-key", "deploy-42");
    const again = await cli(...args, "--idempotency-key", "deploy-42");
    expect(first.code).toBe(0);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    expect(again.stderr).toMatch(/Idempotency-Key was used before.*nothing new was submitted/);
    expect(await entriesOf(first.stdout.trim())).toHaveLength(1);

    const other = await cli("submit", "--target", "web", "--action", "scale", "--replicas", "4");
    expect(other.stdout).not.toBe(first.stdout);
  });

  describe("checks the request before sending it", () => {
    const cases: SubmitRefusal[] = [
      [["--action", "restart"], /missing --target <target>/],
      [["--target", "web"], /missing --action <action> \(one of restart, redeploy/],
      [["--target", "Web!", "--action", "restart"], /--target: target_agent must be a slug/],
      [["--target", "web", "--action", "reboot"], /unknown --action 'reboot': choose from restart/],
      [["--target", "web", "--action", "restart", "--type", "cosmetic"], /unknown --type 'cosmetic'/],
      [["--target", "web", "--action", "scale", "--replicas", "99"], /--replicas: Too big/],
      [["--target", "web", "--action", "scale", "--replicas", "2x"], /--replicas: .*expected number/],
      [["--target", "web", "--action", "scale"], /--action scale needs --replicas <n>/],
      [
        ["--target", "web", "--action", "restart", "--replicas", "2"],
        /--replicas is only for --action scale/,
      ],
      [["--target", "web", "--action", "update_config"], /--env\/--unset-env: env must change at least one/],
      [
        ["--target", "web", "--action", "update_config", "--env", "NOVALUE"],
        /--env 'NOVALUE' must be NAME=VALUE/,
      ],
      [
        ["--target", "web", "--action", "update_config", "--env", "A=1", "--unset-env", "A"],
        /--env A and --unset-env A contradict each other/,
      ],
      [
        ["--target", "web", "--action", "rebuild", "--build-arg", "1X=y"],
        /--build-arg 1X: must be a variable name/,
      ],
      [
        ["--target", "web", "--action", "redeploy", "--image", "Not An Image"],
        /--image: must be a Docker image/,
      ],
      [
        ["--target", "web", "--action", "restart", "--description", "   "],
        /--description: description must not be empty/,
      ],
      [
        ["--target", "web", "--action", "restart", "--idempotency-key", "has space"],
        /--idempotency-key must be/,
      ],
      [["--target", "web", "--action", "restart", "--frobnicate"], /unknown option '--frobnicate'/],
    ];

    it("every mistake is exit 2 with the problem and usage hint, and nothing is sent", () =>
      expectSubmitRefusals(cases));
  });

  it("a refusal shows the intake's title and detail, a hint, and exits 1", async () => {
    const { cli } = await agent({ targets: ["web", "api", "ghost"], actions: ["restart", "scale"] });
    const cases: [string[], RegExp][] = [
      [
        ["--target", "db", "--action", "restart"],
        /^hypercode: Not allowed for this agent: this key may not request changes to 'db' \(allowed: web, api, ghost\)\nThis agent's key does not allow that\./,
      ],
      [
        ["--target", "web", "--action", "rollback"],
        /^hypercode: Not allowed for this agent: this key may not request 'rollback' \(allowed: restart, scale\)\n/,
      ],
      [
        ["--target", "ghost", "--action", "restart"],
        /^hypercode: Target not enabled: no runner serves a target named 'ghost'.*\n'hypercode targets' lists/,
      ],
      [
        ["--target", "api", "--action", "scale", "--replicas", "2"],
        /^hypercode: Action not enabled on target: 'api' does not accept 'scale' \(it accepts: restart\)\n/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await cli("submit", ...args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
    }
  });

  it("429 shows Retry-After; a wrong key is 401 with what to check", async () => {
    const { cli, id } = await agent({ rate: 1 });
    expect((await cli("submit", "--target", "web", "--action", "restart")).code).toBe(0);
    const limited = await cli("submit", "--target", "web", "--action", "restart");
    expect(limited.code).toBe(1);
    expect(limited.stderr).toMatch(
      /^hypercode: Too many requests: this agent may submit 1 requests per 60 s; retry in (\d+) s\nRetry after \1 s \(Retry-After\); nothing was submitted\.\n$/,
    );

    const wrong = await runCli(["submit", "--target", "web", "--action", "restart"], {
      env: { HYPERCODE_URL: intake.baseUrl, HYPERCODE_KEY: generateApiKey(id) },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /^hypercode: Authentication required: the key is unknown or wrong\nCheck HYPERCODE_KEY/,
    );
  });

  it("needs HYPERCODE_KEY, and names it (never its value) when it is malformed", async () => {
    const missing = await runCli(["submit", "--target", "web", "--action", "restart"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/HYPERCODE_KEY: required \(the agent's API key/);
    const bad = await runCli(["targets"], { env: { HYPERCODE_KEY: "s3cret-typo" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/HYPERCODE_KEY: must be an agent key/);
    expect(bad.stderr).not.toContain("s3cret-typo");
  });

  it("an intake that cannot be reached is a clear error, exit 1", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(["submit", "--target", "web", "--action", "restart"], {
      env: { HYPERCODE_URL: url, HYPERCODE_KEY: generateApiKey("someone") },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^hypercode: cannot reach the intake at ${url}: connect ECONNREFUSED \\S+ \\(set HYPERCODE_URL;`,
      ),
    );
    expect(r.stderr).not.toContain("may have been accepted");
  });

  it("retries a dropped connection with the same Idempotency-Key, then says how to find out safely", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req) => {
      seen.push(req.headers);
      req.socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await runCli(["submit", "--target", "web", "--action", "restart"], {
        env: { HYPERCODE_URL: url, HYPERCODE_KEY: generateApiKey("someone") },
      });
      expect(r.code).toBe(1);
      expect(seen).toHaveLength(3);
      const key = seen[0]?.["idempotency-key"];
      expect(key).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen.map((h) => h["idempotency-key"])).toEqual([key, key, key]);
      expect(r.stderr).toContain(`may have been accepted`);
      expect(r.stderr).toContain(`--idempotency-key ${key} to find out without submitting twice`);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("what an intake answers reaches the terminal escaped", () => {
  it("a problem's title, detail and field errors, and a target listing", async () => {
    const title = "\u001b]0;owned\u0007";
    const server = createServer((req, res) => {
      if (req.url === "/v1/targets") {
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            agent_id: `a${title}`,
            scope: { targets: [`web${title}`], actions: ["restart"] },
            targets: [{ target: `web${title}`, actions: ["restart"], replicas: 1, revision: "\u001b[2J" }],
          }),
        );
        return;
      }
      res.statusCode = 422;
      res.setHeader("content-type", "application/problem+json");
      res.end(
        JSON.stringify({
          type: "urn:hypercode:problem:validation-failed",
          title: `Invalid${title}`,
          status: 422,
          detail: "\u001b[2J\u001b[Hall good",
          errors: [{ path: `metadata.${title}`, message: "\u009b31mno" }],
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const env = {
        HYPERCODE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        HYPERCODE_KEY: generateApiKey("someone"),
      };
      const refused = await runCli(["submit", "--target", "web", "--action", "restart"], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("Invalid\\x1b]0;owned\\x07");
      expect(refused.stderr).toContain("metadata.\\x1b]0;owned\\x07: \\x9b31mno");
      const targets = await runCli(["targets"], { env });
      expect(targets.code).toBe(0);
      expect(targets.stdout).toContain(
        "Agent 'a\\x1b]0;owned\\x07' may request restart on web\\x1b]0;owned\\x07.",
      );
      expect(targets.stdout).toMatch(/^web\\x1b\]0;owned\\x07\s+restart\s+1\s+\\x1b\[2J$/m);
      for (const r of [refused, targets]) {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
        expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      }
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("following a request: submit --wait and watch", () => {
  it("submit --wait follows it to succeeded across feed reconnects and exits 0", async () => {
    const { env } = await agent();
    const run = live(["submit", "--target", "web", "--action", "restart", "--wait"], env);
    const id = (await run.until("stdout", /^(\S+)\n/))[1]!;
    await run.until("stderr", /queued\s+accepted by the intake/);
    await move(id, "running", "runner r1 started it");
    await run.until("stderr", /running\s+runner r1 started it/);
    // Longer than FEED_MAX: the CLI's first feed closes and it must resume where it stopped.
    await sleep(1500);
    await move(id, "succeeded", "2 containers replaced");
    const r = await run.result;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${id}\n`);
    const states = r.stderr.split("\n").filter((l) => /^\S+Z\s/.test(l));
    expect(states.map((l) => l.split(/\s+/)[1])).toEqual(["queued", "running", "succeeded"]);
    expect(r.stderr).toMatch(/succeeded\s+2 containers replaced/);
  });

  it("submit --wait exits 3 when the request fails, saying how it ended", async () => {
    const { env } = await agent();
    const run = live(["submit", "--target", "web", "--action", "rebuild", "--wait"], env);
    const id = (await run.until("stdout", /^(\S+)\n/))[1]!;
    await move(id, "running");
    await move(id, "failed", "the build failed: step 3/7");
    const r = await run.result;
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `hypercode: request ${id} ended failed: the build failed: step 3/7 (see 'hypercode status ${id}')`,
    );
  });

  it("watch --json prints one JSON line per transition, each once, and exits 0 on success", async () => {
    const { env, cli } = await agent();
    const id = (await cli("submit", "--target", "web", "--action", "redeploy")).stdout.trim();
    const run = live(["watch", id, "--json"], env);
    await run.until("stdout", /"status":"queued"/);
    await move(id, "running");
    await run.until("stdout", /"status":"running"/);
    await sleep(1200);
    await move(id, "deploying", "starting 2 new containers");
    await move(id, "succeeded");
    const r = await run.result;
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.status)).toEqual(["queued", "running", "deploying", "succeeded"]);
    expect(lines[2]).toMatchObject({ request_id: id, detail: "starting 2 new containers" });
  });

  it("watch exits 3 for rolled_back; a finished request shows its timeline and ends at once", async () => {
    const { env, cli } = await agent();
    const id = (await cli("submit", "--target", "web", "--action", "redeploy")).stdout.trim();
    const run = live(["watch", id], env);
    await run.until("stdout", /queued/);
    await move(id, "running");
    await move(id, "rolled_back", "new containers unhealthy after 60 s");
    const r = await run.result;
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/rolled_back\s+new containers unhealthy after 60 s\n$/);

    const again = await runCli(["watch", id], { env });
    expect(again.code).toBe(3);
    expect(again.stdout).toBe(r.stdout);
  });

  it("watch keeps following while the intake restarts, and misses nothing that happened meanwhile", async () => {
    const { env, cli } = await agent();
    const id = (await cli("submit", "--target", "web", "--action", "restart")).stdout.trim();
    const port = await freePort();
    const start = () =>
      startNodeIntake({
        redisUrl: redisUrl(),
        port,
        host: "127.0.0.1",
        env: { KEY_PREFIX: prefix, FEED_POLL: "50ms" },
      });
    let own = await start();
    try {
      const run = live(["watch", id], { ...env, HYPERCODE_URL: own.url });
      await run.until("stdout", /queued/);
      await own.close();
      await move(id, "running");
      await move(id, "succeeded", "done while the intake was away");
      await sleep(1500);
      own = await start();
      const r = await run.result;
      expect(r.code).toBe(0);
      expect(
        r.stdout
          .split("\n")
          .filter(Boolean)
          .map((l) => l.split(/\s+/)[1]),
      ).toEqual(["queued", "running", "succeeded"]);
    } finally {
      await own.close();
    }
  });

  it("a coalesced request is followed into the one that carries it out", async () => {
    const { env, cli } = await agent();
    const carrier = (await cli("submit", "--target", "web", "--action", "restart")).stdout.trim();
    const rider = (await cli("submit", "--target", "web", "--action", "restart")).stdout.trim();
    const run = live(["watch", rider, "--json"], env);
    await run.until("stdout", /"status":"queued"/);
    await move(carrier, "running");
    await move(rider, "coalesced", `carried out by ${carrier}`, { coalesced_into: carrier });
    await run.until("stderr", new RegExp(`coalesced into ${carrier}, which carries it out: following`));
    await move(carrier, "succeeded");
    const r = await run.result;
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => [l.request_id === rider ? "rider" : "carrier", l.status])).toEqual([
      ["rider", "queued"],
      ["rider", "coalesced"],
      ["carrier", "queued"],
      ["carrier", "running"],
      ["carrier", "succeeded"],
    ]);
  });

  it("watch of another agent's request or an unknown id is refused with exit 1", async () => {
    const owner = await agent();
    const id = (await owner.cli("submit", "--target", "web", "--action", "restart")).stdout.trim();
    const stranger = await agent();
    for (const r of [await stranger.cli("watch", id), await owner.cli("status", "no-such-request")]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^hypercode: Not found: no request with this id belongs to this agent\nCheck the request id/,
      );
    }
  });
});

describe("hypercode status and targets", () => {
  it("status shows state, target, action, detail, what the runner recorded and the timeline", async () => {
    const { id: agentId, cli } = await agent();
    const id = (
      await cli("submit", "--target", "web", "--action", "rebuild", "--description", "pick up the new base")
    ).stdout.trim();
    await move(id, "running", "runner r1 started it");
    await move(id, "succeeded", "rebuilt and rolled out", { revision: "r8", image: "web:r8" });
    const r = await cli("status", id);
    expect(r.code).toBe(0);
    const line = (label: string, value: string) => new RegExp(`^${label}\\s+${value}$`, "m");
    expect(r.stdout).toMatch(line("request", id));
    expect(r.stdout).toMatch(line("state", "succeeded \\(evolution status: completed\\)"));
    expect(r.stdout).toMatch(line("target", "web"));
    expect(r.stdout).toMatch(line("action", "rebuild"));
    expect(r.stdout).toMatch(line("agent", agentId));
    expect(r.stdout).toMatch(line("description", "pick up the new base"));
    expect(r.stdout).toMatch(line("detail", "rebuilt and rolled out"));
    expect(r.stdout).toMatch(line("revision", "r8"));
    expect(r.stdout).toMatch(line("image", "web:r8"));
    expect(r.stdout).toMatch(
      /^timeline\n {2}\S+Z\s+queued\s+accepted by the intake\n {2}\S+Z\s+running\s+runner r1 started it\n {2}\S+Z\s+succeeded\s+rebuilt and rolled out$/m,
    );

    const json = statusViewSchema.parse(JSON.parse((await cli("status", id, "--json")).stdout));
    expect(json).toMatchObject({ request_id: id, status: "succeeded", result: { revision: "r8" } });
    expect(json.timeline).toHaveLength(3);
  });

  it("targets lists what this key may request, as a table and as JSON", async () => {
    const { id, cli } = await agent({ targets: ["web", "api", "nowhere"], actions: ["restart", "scale"] });
    const r = await cli("targets");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(`Agent '${id}' may request restart, scale on web, api, nowhere.`);
    expect(lines[2]).toMatch(/^TARGET\s+ACTIONS\s+REPLICAS\s+REVISION$/);
    expect(lines.slice(3).filter(Boolean).sort()).toEqual([
      expect.stringMatching(/^api\s+restart\s+-\s+-$/),
      expect.stringMatching(/^web\s+restart,scale\s+2\s+r7$/),
    ]);

    const json = targetsSchema.parse(JSON.parse((await cli("targets", "--json")).stdout));
    expect(json.targets.map((t) => t.target).sort()).toEqual(["api", "web"]);

    const none = await (await agent({ targets: ["nowhere"] })).cli("targets");
    expect(none.stdout).toMatch(/No target in this scope is served by a runner right now\.$/m);
  });
});

describe("help", () => {
  it("documents the new commands, exit code 3, and each command's variables", async () => {
    const [top, submit, ...others] = await Promise.all(
      [
        ["--help"],
        ["submit", "--help"],
        ["status", "--help"],
        ["watch", "-h"],
        ["targets", "--help"],
        ["dlq", "list", "--help"],
        ["dlq", "replay", "--help"],
        ["dlq", "drop", "--help"],
      ].map((args) => runCli(args)),
    );
    for (const c of [
      "runner",
      "submit",
      "status",
      "watch",
      "targets",
      "dlq list",
      "dlq replay",
      "dlq drop",
    ]) {
      expect(top!.stdout).toMatch(new RegExp(`^  ${c}\\s`, "m"));
    }
    expect(top!.stdout).toMatch(/^ {2}3 {2}a request followed by 'submit --wait' or 'watch' ended failed/m);
    expect(top!.stdout).toMatch(/HYPERCODE_URL[\s\S]*HYPERCODE_KEY/);
    expect(submit!.stdout).toMatch(/Idempotency: every submission carries an Idempotency-Key, a fresh UUID/);
    for (const r of [submit!, ...others.slice(0, 3)]) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^ {2}HYPERCODE_URL\s[\s\S]*^ {2}HYPERCODE_KEY\s/m);
    }
    for (const r of others.slice(3)) expect(r.stdout).toMatch(/^ {2}REDIS_URL\s[\s\S]*^ {2}KEY_PREFIX\s/m);
  });
});
