import fc from "fast-check";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { Keys } from "../../shared/keys.js";
import { ACTIONS, decodeStreamEntry, fieldsToRecord } from "../../shared/protocol/index.js";
import { seed, size } from "../support/campaign.js";
import { ensureCliBuilt, runCli } from "../support/cli.js";
import { addAgent } from "../support/fixtures.js";
import { redisUrl } from "../support/redis.js";
import {
  deadLetters,
  enqueue,
  newRequest,
  pendingEntries,
  perTestPrefix,
  startTestRunner,
  TestDeployer,
  waitFor,
  waitForState,
} from "../support/runner.js";

/**
 * Garbage written straight to the request stream (random fields and values, `payload` fields
 * that are almost requests) never stops the runner: each undecodable entry is dead-lettered, and
 * a valid entry written after a batch is still carried out.
 */

let client: Redis;
let prefix: string;
let k: Keys;
perTestPrefix((t) => ({ client, prefix, k } = t));

const almostRequest = fc
  .record(
    {
      agent_id: fc.oneof(fc.constant("coder-agent"), fc.string()),
      target_agent: fc.oneof(fc.constant("test-agent"), fc.string(), fc.anything()),
      improvement_type: fc.oneof(fc.constant("performance"), fc.string()),
      description: fc.oneof(fc.string(), fc.anything()),
      payload: fc.oneof(
        fc.constant({ action: "redeploy", privileged: true }),
        fc.constant({ action: "redeploy", image: "app:v2", binds: ["/:/host"] }),
        fc.constant({ action: "restart", cap_add: ["SYS_ADMIN"] }),
        fc.constant({ action: "scale", replicas: 0 }),
        fc.record({ action: fc.string() }),
        fc.anything(),
      ),
      request_id: fc.oneof(fc.string(), fc.constant("../../etc")),
      network_mode: fc.constant("host"),
    },
    { requiredKeys: [] },
  )
  .map((r) => JSON.stringify(r));

const fieldValue = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.json(), almostRequest);

/** One entry's field/value pairs: random names, or a `payload` field with a near-request. */
const entry = fc.oneof(
  fc
    .uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fieldValue), {
      minLength: 1,
      maxLength: 5,
      selector: ([f]) => f,
    })
    .map((pairs) => pairs.flat()),
  fc.tuple(fc.constant("payload"), fieldValue),
  fc.tuple(fc.constant("payload"), almostRequest, fc.constant("payload2"), fc.string()),
);

describe("garbage in the request stream", { timeout: 300_000 }, () => {
  it("is dead-lettered entry by entry; the runner keeps serving valid requests", async () => {
    // The one agent direct entries may name; any other is dead-lettered like garbage.
    await addAgent(client, prefix, {
      id: "coder-agent",
      targets: ["*"],
      actions: [...ACTIONS],
      rate: 1_000_000,
    });
    await startTestRunner(prefix, { env: { MAX_DELIVERIES: "2" } });
    const s = seed(77);
    let garbage = 0;
    let batches = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), async (batch) => {
        batches++;
        for (const fields of batch) {
          const id = (await client.xadd(k.requestStream, "*", ...fields)) as string;
          // The runner's decoder is the judge of garbage; an entry it accepts is a request like any
          // other, if it names the registered agent (direct entries are checked like submissions).
          const decoded = decodeStreamEntry(id, fieldsToRecord(fields));
          if (!decoded.ok || decoded.request.agent_id !== "coder-agent") garbage++;
        }
        const valid = newRequest();
        await enqueue(client, prefix, valid);
        await waitForState(client, prefix, valid.request_id, "succeeded");
      }),
      { seed: s, numRuns: size(25, 300) },
    );
    await waitFor(
      "every entry to be handled",
      async () => (await pendingEntries(client, prefix)).length === 0,
    );
    const letters = await deadLetters(client, prefix);
    expect(letters.length, `seed ${s}`).toBe(garbage);
    expect(
      letters.every((l) => l.reason),
      `seed ${s}`,
    ).toBe(true);
    process.stdout.write(`stream garbage: seed ${s}, ${batches} batches, ${garbage} dead-lettered\n`);
  });

  it("a direct entry with ESC in its description or key names, or NUL or a newline in an env value or build arg, is dead-lettered undeployed; dlq list shows it escaped", async () => {
    ensureCliBuilt();
    const deployer = new TestDeployer("runner-a");
    await startTestRunner(prefix, { deployer });
    const bad = [
      newRequest({ action: "restart" }, { description: "restart\u001b]0;owned\u0007\u001b[2J" }),
      newRequest({ action: "update_config", env: { LOG_LEVEL: "debug\u0000" } }),
      newRequest({ action: "update_config", env: { LOG_LEVEL: "debug\nLD_PRELOAD=/tmp/x.so" } }),
      newRequest({ action: "rebuild", build_args: { VERSION: "1\r" } }),
    ];
    for (const r of bad) await enqueue(client, prefix, r);
    // Escapes in a field name and in a payload key name, which the reason quotes.
    const title = "\u001b]0;owned\u0007";
    await client.xadd(
      k.requestStream,
      "*",
      title,
      "\u001b[2J",
      "payload",
      JSON.stringify({ ...newRequest(), metadata: { [title]: "x" } }),
    );
    const valid = newRequest();
    await enqueue(client, prefix, valid);
    await waitForState(client, prefix, valid.request_id, "succeeded");
    // Undecodable, so the runner cannot trust the request id in it: dead letters without a status.
    await waitFor("five dead letters", async () => (await deadLetters(client, prefix)).length === 5);
    const reasons = (await deadLetters(client, prefix)).map((l) => l.reason);
    expect(reasons).toEqual([
      expect.stringMatching(/description: description must not contain control characters/),
      expect.stringMatching(/payload\.env\.LOG_LEVEL: must not contain NUL/),
      expect.stringMatching(/payload\.env\.LOG_LEVEL: must not contain NUL, newline/),
      expect.stringMatching(/payload\.build_args\.VERSION: must not contain NUL, newline or carriage return/),
      expect.stringContaining(`metadata.${title}`),
    ]);
    // What the operator then sees: the reasons, escaped, and nothing that drives the terminal.
    const list = await runCli(["dlq", "list"], { env: { REDIS_URL: redisUrl(), KEY_PREFIX: prefix } });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("metadata.\\x1b]0;owned\\x07");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(list.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(deployer.calls.map((c) => c.requestId)).toEqual([valid.request_id]);
  });
});
