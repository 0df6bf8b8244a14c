import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../shared/keys.js";
import { acceptedSchema, statusViewSchema } from "../../shared/protocol/http.js";
import { ACTIONS, fieldsToRecord } from "../../shared/protocol/index.js";
import { ensureCliBuilt, killCliProcesses, runCli } from "../support/cli.js";
import { addAgent, publishTarget, transition, uniqueName } from "../support/fixtures.js";
import type { RunningIntake } from "../support/intake-runtime.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";
import { expectSubmitRefusals, type SubmitRefusal } from "../support/submit-refusals.js";

/**
 * `hypercode submit` with the original HyperCode system's fields (--id, --priority, --file,
 * --test-results) and whole bodies (--body, from a file or stdin), and `hypercode status` showing
 * them: the real, built CLI against a real Node intake and Redis.
 */

let client: Redis;
let intake: RunningIntake;
let dir: string;
const prefix = freshPrefix();
const k = keys(prefix);

beforeAll(async () => {
  ensureCliBuilt();
  client = testClient();
  dir = mkdtempSync(join(tmpdir(), "hypercode-cli-upstream-"));
  intake = await startNodeTestIntake({ redisUrl: redisUrl(), prefix });
  await publishTarget(client, prefix, "web", [...ACTIONS]);
});
afterEach(() => killCliProcesses());
afterAll(async () => {
  await intake?.stop();
  await deletePrefix(client, prefix);
  await client.quit();
  rmSync(dir, { recursive: true, force: true });
});

const agent = async () => {
  const id = uniqueName("coder");
  const key = await addAgent(client, prefix, { id, targets: ["web"], actions: [...ACTIONS] });
  const env = { HYPERCODE_URL: intake.baseUrl, HYPERCODE_KEY: key };
  return {
    id,
    env,
    cli: (args: string[], stdin?: string) => runCli(args, { env, stdin }),
  };
};

/** The request stream entry of this request. */
const entryOf = async (requestId: string) => {
  const all = (await client.xrange(k.requestStream, "-", "+")).map(([, fields]) =>
    JSON.parse(fieldsToRecord(fields).payload ?? "{}"),
  );
  const mine = all.filter((p) => p.request_id === requestId);
  expect(mine).toHaveLength(1);
  return mine[0];
};

/** What an upstream agent XADDs: its pydantic model's `model_dump_json()`. */
const upstreamBody = (agentId: string, extra: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  agent_id: agentId,
  target_agent: "web",
  improvement_type: "refactor",
  description: "Optimizing build settings",
  payload: { action: "redeploy" },
  priority: 1,
  files_changed: ["src/app.py"],
  test_results: null,
  status: "proposed",
  timestamp: "2026-12-01T23:34:55.317444",
  ...extra,
});

const restart = ["--target", "web", "--action", "restart"];
const line = (label: string, value: string) => new RegExp(`^${label}\\s+${value}$`, "m");

describe("hypercode submit with the upstream fields", () => {
  it("--id, --priority, --file and --test-results go into the request; status shows them", async () => {
    const { cli } = await agent();
    const id = randomUUID();
    const r = await cli([
      "submit",
      ...restart,
      "--id",
      id,
      "--priority",
      "5",
      "--file",
      "src/app.py",
      "--file",
      "Dockerfile",
      "--test-results",
      '{"passed": 12, "failed": 0}',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${id}\n`);
    expect(await entryOf(id)).toMatchObject({
      request_id: id,
      priority: "high",
      files_changed: ["src/app.py", "Dockerfile"],
      test_results: { passed: 12, failed: 0 },
    });

    await transition(client, prefix, id, "running");
    await transition(client, prefix, id, "succeeded", "restarted");
    const status = await cli(["status", id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(line("state", "succeeded \\(evolution status: completed\\)"));
    expect(status.stdout).toMatch(line("priority", "high"));
    expect(status.stdout).toMatch(/^files\s+src\/app\.py\n\s{14}Dockerfile$/m);
    expect(status.stdout).toMatch(line("test results", '\\{"passed":12,"failed":0\\}'));
    expect(status.stdout).not.toMatch(/^agent time/m);

    // The words are accepted as they are.
    const word = await cli(["submit", ...restart, "--priority", "normal"]);
    expect((await entryOf(word.stdout.trim())).priority).toBe("normal");
  });

  it("--body - reads an upstream model_dump_json() from stdin; --body <file> from a file", async () => {
    const { id: agentId, cli } = await agent();
    const piped = upstreamBody(agentId);
    const r = await cli(["submit", "--body", "-", "--json"], JSON.stringify(piped));
    expect(r.code).toBe(0);
    expect(acceptedSchema.parse(JSON.parse(r.stdout)).request_id).toBe(piped.id);
    expect(await entryOf(piped.id)).toMatchObject({
      agent_id: agentId,
      improvement_type: "refactor",
      priority: "low",
      files_changed: ["src/app.py"],
      test_results: null,
      status: "proposed",
      timestamp: "2026-12-01T23:34:55.317444Z",
    });
    const status = await cli(["status", piped.id]);
    expect(status.stdout).toMatch(line("state", "queued \\(evolution status: proposed\\)"));
    expect(status.stdout).toMatch(
      line("agent time", "2026-12-01T23:34:55.317444Z \\(the agent's own clock\\)"),
    );
    expect(status.stdout).not.toMatch(/^test results/m);

    const saved = upstreamBody(agentId, { priority: 3, test_results: { passed: 1 } });
    const file = join(dir, "request.json");
    writeFileSync(file, JSON.stringify(saved));
    const fromFile = await cli(["submit", "--body", file, "--idempotency-key", "from-file"]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toBe(`${saved.id}\n`);
    expect(await entryOf(saved.id)).toMatchObject({ priority: "normal", test_results: { passed: 1 } });
  });

  it("status shows at most 20 files and 600 characters of test results, every control character escaped", async () => {
    const { cli } = await agent();
    const files = Array.from({ length: 30 }, (_, i) => `src/module-${i}.py`);
    const r = await cli([
      "submit",
      ...restart,
      // The protocol refuses control characters in a description (bar tab and newline); a
      // bidirectional override is not one, so it gets through and must be shown escaped.
      "--description",
      "cleared\tas \u202etxt.exe",
      "--test-results",
      JSON.stringify({ log: `${"x".repeat(2000)}\u009b31m` }),
      ...files.flatMap((f) => ["--file", f]),
    ]);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    await transition(client, prefix, id, "failed", "step 3: \u001b[31mred\u001b[0m\nforged line");
    const status = await cli(["status", id]);
    expect(status.code).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(status.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(status.stdout).toContain("cleared\\x09as \\u202etxt.exe");
    expect(status.stdout).toContain("step 3: \\x1b[31mred\\x1b[0m");
    // A newline in a detail stays inside its field, indented: it cannot start a line of its own.
    expect(status.stdout).toMatch(/^\s{14}forged line$/m);
    expect(status.stdout).toContain("src/module-19.py\n");
    expect(status.stdout).not.toContain("src/module-20.py");
    expect(status.stdout).toMatch(/^\s{14}… and 10 more \(--json lists them all\)$/m);
    const tests = /^test results\s+(.*)$/m.exec(status.stdout)?.[1] ?? "";
    expect(tests).toMatch(/^\{"log":"x{592}… \(\d+ more characters\)$/);
    // The timeline is one line per transition: the detail's newline is escaped there.
    expect(status.stdout).toMatch(/failed\s+step 3: \\x1b\[31mred\\x1b\[0m\\x0aforged line$/m);

    const json = statusViewSchema.parse(JSON.parse((await cli(["status", id, "--json"])).stdout));
    expect(json.evolution_status).toBe("failed");
    expect(json.request?.files_changed).toEqual(files);
  });
});

describe("hypercode submit refuses bad upstream fields before sending", () => {
  const body = JSON.stringify(upstreamBody("coder-agent"));
  const cases: SubmitRefusal[] = [
    [[...restart, "--id", "Not An Id"], /--id: id must be a request id: 1 to 63 of lowercase/],
    [
      [...restart, "--priority", "7"],
      /--priority: priority must be a whole number from 1 \(low\) to 5 \(critical\)/,
    ],
    [
      [...restart, "--priority", "urgent"],
      /--priority: priority must be a whole number from 1 \(low\) to 5 \(critical\), or low, normal or high/,
    ],
    [[...restart, "--file", ""], /--file '': a file name must not be empty/],
    [
      [...restart, "--file", "ok.py", "--file", "evil\u001b[2J.py"],
      /--file 'evil\\x1b\[2J\.py': a file name must not contain control characters/,
    ],
    [[...restart, "--test-results", "{passed: 1}"], /--test-results is not JSON: /],
    [
      [...restart, "--test-results", "[1, 2]"],
      /--test-results: Invalid input: expected record, received array/,
    ],
    [
      ["--body", "-", "--target", "web", "--file", "a.py"],
      /--body is the whole request: --target, --file cannot be given with it/,
    ],
    [
      ["--body", "/nonexistent/request.json"],
      /--body: cannot read '\/nonexistent\/request\.json': no such file/,
    ],
    [["--body", "-"], /--body is not JSON: /, "not json"],
    [["--body", "-"], /--body is not JSON: Unexpected end of JSON input/, ""],
    [
      ["--body", "-"],
      /--body status: status must be 'proposed' or absent[\s\S]*--body: Unrecognized key: "frob"/,
      JSON.stringify({ ...JSON.parse(body), status: "coded", frob: 1 }),
    ],
    [
      ["--body", "-"],
      /--body priority: priority must be a whole number from 1 \(low\) to 5[\s\S]*--body files_changed\.0: a file name must not be empty/,
      JSON.stringify({ ...JSON.parse(body), priority: 9, files_changed: [""] }),
    ],
  ];

  it("each mistake is exit 2 naming the option (or the body's field), and nothing is sent", () =>
    expectSubmitRefusals(cases));

  it("submit --help documents the new options and what --body refuses beside it", async () => {
    const help = await runCli(["submit", "--help"]);
    expect(help.code).toBe(0);
    for (const option of ["--id <id>", "--priority <p>", "--file <path>", "--test-results <json>"])
      expect(help.stdout).toContain(`  ${option}`);
    expect(help.stdout).toMatch(/--body <file\|->[\s\S]*model_dump_json\(\)[\s\S]*refused beside it/);
    expect((await runCli(["status", "--help"])).stdout).toMatch(/EvolutionStatus[\s\S]*files changed/);
  });
});
