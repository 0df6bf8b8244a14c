import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eachDeadLetterPage } from "../../cli/dead-letters.js";
import { type AdmitDeps, admit } from "../../runner/admit.js";
import { deadLetter } from "../../runner/dead-letter.js";
import { recordFields, StatusStore } from "../../runner/status.js";
import { keys, RUNNER_GROUP } from "../../shared/keys.js";
import { encodeStreamFields, fieldsToRecord, type ImprovementRequest } from "../../shared/protocol/index.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import { ensureCliBuilt, killCliProcesses, runCli } from "../support/cli.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";

/**
 * `hypercode dlq list | replay | drop` against dead letters written by the runner's own code
 * (runner/dead-letter.ts), in a fresh KEY_PREFIX per test.
 */

let client: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  ensureCliBuilt();
  client = testClient();
});
afterEach(() => killCliProcesses());
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(client, prefix);
  await client.quit();
});

const setup = async () => {
  const prefix = freshPrefix();
  prefixes.push(prefix);
  const k = keys(prefix);
  const status = new StatusStore(
    new IoredisAdapter(client),
    k,
    { ttlMs: 600_000, streamMaxLen: 10_000 },
    Date.now,
  );
  await client.xgroup("CREATE", k.requestStream, RUNNER_GROUP, "0", "MKSTREAM");
  const env = { REDIS_URL: redisUrl(), KEY_PREFIX: prefix };
  const cli = (...args: string[]) => runCli(["dlq", ...args], { env });

  /** Reads the next entry as a runner would, so that dead-lettering it acknowledges a pending entry. */
  const deliver = async (): Promise<{ entryId: string; fields: Record<string, string> }> => {
    const read = (await client.xreadgroup(
      "GROUP",
      RUNNER_GROUP,
      "test-runner",
      "COUNT",
      1,
      "STREAMS",
      k.requestStream,
      ">",
    )) as [string, [string, string[]][]][];
    const [entryId, fields] = read[0]![1][0]!;
    return { entryId, fields: fieldsToRecord(fields) };
  };

  /** The id the dead letter just written has in the dead-letter stream. */
  const newestDeadLetter = async () =>
    (await client.xrevrange(k.deadLetterStream, "+", "-", "COUNT", 1))[0]![0];

  /** A request the intake accepted and the runner gave up on after 6 deliveries. */
  const exhaustedRequest = async (requestId: string) => {
    const request: ImprovementRequest = {
      agent_id: "deployer",
      target_agent: "web",
      improvement_type: "reliability",
      description: "restart web",
      payload: { action: "restart" },
      request_id: requestId,
      created_at: new Date().toISOString(),
    };
    const entry = await client.xadd(k.requestStream, "*", ...encodeStreamFields(request));
    await status.move(requestId, "queued", { create: recordFields(request, entry!) });
    const d = await deliver();
    await deadLetter(
      client,
      k,
      status,
      { runnerId: "runner-a", maxLen: 1000, now: Date.now() },
      {
        entryId: d.entryId,
        fields: d.fields,
        reason: "delivered 6 times, more than 5",
        deliveries: 6,
        requestId,
        create: recordFields(request, d.entryId),
      },
    );
    return { id: await newestDeadLetter(), entryId: d.entryId, fields: d.fields };
  };

  /** An entry that is not a request at all. */
  const garbage = async () => {
    await client.xadd(k.requestStream, "*", "note", "not a request");
    const d = await deliver();
    await deadLetter(
      client,
      k,
      status,
      { runnerId: "runner-a", maxLen: 1000, now: Date.now() },
      { entryId: d.entryId, fields: d.fields, reason: "entry has no 'payload' field", deliveries: 1 },
    );
    return { id: await newestDeadLetter(), entryId: d.entryId, fields: d.fields };
  };

  const requestEntries = async () =>
    (await client.xrange(k.requestStream, "-", "+")).map(([id, f]) => ({ id, fields: fieldsToRecord(f) }));
  const deadLetterIds = async () => (await client.xrange(k.deadLetterStream, "-", "+")).map(([id]) => id);

  return { k, status, cli, exhaustedRequest, garbage, requestEntries, deadLetterIds };
};

describe("hypercode dlq list", () => {
  it("shows each dead letter with its ids, request, deliveries, time and reason", async () => {
    const { cli, exhaustedRequest, garbage } = await setup();
    expect((await cli("list")).stdout).toBe("The dead-letter stream is empty.\n");
    expect(JSON.parse((await cli("list", "--json")).stdout)).toEqual({ length: 0, entries: [] });

    const a = await exhaustedRequest("req-a");
    const b = await garbage();
    const r = await cli("list");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("2 dead letters:");
    expect(lines[1]).toMatch(/^ID\s+ENTRY\s+REQUEST\s+DELIVERIES\s+AT\s+REASON$/);
    expect(lines[2]).toMatch(
      new RegExp(`^${a.id}\\s+${a.entryId}\\s+req-a\\s+6\\s+\\S+Z\\s+delivered 6 times, more than 5$`),
    );
    expect(lines[3]).toMatch(
      new RegExp(`^${b.id}\\s+${b.entryId}\\s+-\\s+1\\s+\\S+Z\\s+entry has no 'payload' field$`),
    );

    const json = JSON.parse((await cli("list", "--json")).stdout);
    expect(json.length).toBe(2);
    expect(json.entries[0]).toMatchObject({
      id: a.id,
      entry_id: a.entryId,
      request_id: "req-a",
      deliveries: 6,
      runner_id: "runner-a",
      fields: a.fields,
    });
    expect(json.entries[1]).toMatchObject({ id: b.id, request_id: null, fields: { note: "not a request" } });

    const newest = await cli("list", "--count", "1");
    expect(newest.stdout).toMatch(/^The newest 1 of 2 dead letters \(--count for more\):\n/);
    expect(newest.stdout).toContain(b.id);
    expect(newest.stdout).not.toContain(a.id);
    expect((await cli("list", "--count", "0")).code).toBe(2);
  });
});

describe("what writers of Redis put in a dead letter reaches the terminal escaped", () => {
  // Retitles the terminal, clears the screen, then forges a line of output.
  const TITLE = "\u001b]0;owned\u0007";
  const CLEAR = "\u001b[2J\u001b[H";
  const FORGED = `${CLEAR}all good\u009b31m`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

  it("dlq list and dlq replay print control characters in key names, values and reasons as escapes", async () => {
    const { k, cli } = await setup();
    // An entry whose payload has an escape in a key name: the runner's own decoding names it in the reason.
    const fields = {
      payload: JSON.stringify({
        target_agent: "web",
        improvement_type: "reliability",
        description: "restart",
        payload: { action: "restart" },
        metadata: { [TITLE]: FORGED },
      }),
      [CLEAR]: TITLE,
    };
    const verdict = await admit({ id: "1-1", fields, deliveries: 1 }, {} as AdmitDeps);
    expect(verdict.kind).toBe("garbage");
    const reason = (verdict as { reason: string }).reason;
    expect(reason).toContain(TITLE);
    const decoded = await client.xadd(
      k.deadLetterStream,
      "*",
      "entry_id",
      "1-1",
      "reason",
      reason,
      "deliveries",
      "1",
      "runner_id",
      "runner-a",
      "at",
      new Date().toISOString(),
      "fields",
      JSON.stringify(fields),
    );
    // And one written straight to the dead-letter stream, escapes everywhere.
    const forged = await client.xadd(
      k.deadLetterStream,
      "*",
      "entry_id",
      `2-0${TITLE}`,
      "request_id",
      `req${TITLE}`,
      "reason",
      FORGED,
      "deliveries",
      "1",
      "runner_id",
      CLEAR,
      "at",
      `2026-12-02T00:00:00Z${TITLE}`,
      "fields",
      JSON.stringify({ payload: CLEAR }),
    );
    await client.hset(k.request(`req${TITLE}`), "state", `succeeded${CLEAR}`);

    const list = await cli("list");
    expect(list.code).toBe(0);
    expect(list.stdout).not.toMatch(RAW);
    expect(list.stdout).toContain("metadata.\\x1b]0;owned\\x07");
    expect(list.stdout).toContain("req\\x1b]0;owned\\x07");
    expect(list.stdout).toContain("\\x1b[2J\\x1b[Hall good\\x9b31m");
    expect(list.stdout).toContain(decoded);
    // --json keeps the data exact (JSON escapes it itself).
    const json = JSON.parse((await cli("list", "--json")).stdout);
    expect(json.entries[1]).toMatchObject({ id: forged, request_id: `req${TITLE}`, reason: FORGED });

    const replay = await cli("replay", forged as string);
    expect(replay.code).toBe(1);
    expect(replay.stderr).not.toMatch(RAW);
    expect(replay.stderr).toContain("its request req\\x1b]0;owned\\x07 is succeeded\\x1b[2J\\x1b[H now");
  });
});

describe("hypercode dlq replay", () => {
  it("puts the entry back on the request stream, removes it from the DLQ, and queues its request again", async () => {
    const { k, cli, status, exhaustedRequest, requestEntries, deadLetterIds } = await setup();
    const a = await exhaustedRequest("req-a");
    expect((await status.head("req-a")).state).toBe("dead_lettered");

    const r = await cli("replay", a.id);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const newEntry = /as request stream entry (\S+) \(request req-a is queued again\)\./.exec(r.stdout)?.[1];
    expect(newEntry).toBeDefined();

    expect(await deadLetterIds()).toEqual([]);
    const entries = await requestEntries();
    expect(entries.map((e) => e.id)).toEqual([a.entryId, newEntry]);
    expect(entries[1]!.fields).toEqual(a.fields);
    // What the runner checks before it takes an entry up: the record is open and names this entry.
    expect(await status.head("req-a")).toMatchObject({ state: "queued", entryId: newEntry });
    const timeline = await client.xrange(k.requestEvents("req-a"), "-", "+");
    expect(fieldsToRecord(timeline.at(-1)![1])).toMatchObject({
      state: "queued",
      detail: `replayed from the dead-letter stream by an operator (it was entry ${a.entryId})`,
    });

    const again = await cli("replay", a.id);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`hypercode: not replayed ${a.id}: there is no such dead letter.\n`);
    expect(await requestEntries()).toHaveLength(2);
  });

  it("--all replays every dead letter there is, requests and undecodable entries alike", async () => {
    const { cli, exhaustedRequest, garbage, requestEntries, deadLetterIds } = await setup();
    const a = await exhaustedRequest("req-a");
    const b = await garbage();
    const r = await cli("replay", "--all", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.skipped).toEqual([]);
    expect(out.replayed).toMatchObject([
      { id: a.id, request_id: "req-a", revived: true },
      { id: b.id, request_id: null, revived: false },
    ]);
    expect(await deadLetterIds()).toEqual([]);
    const replayed = (await requestEntries()).slice(2);
    expect(replayed.map((e) => e.id)).toEqual(out.replayed.map((x: { entry_id: string }) => x.entry_id));
    expect(replayed.map((e) => e.fields)).toEqual([a.fields, b.fields]);

    expect((await cli("replay", "--all")).stdout).toBe(
      "The dead-letter stream is empty; nothing to replay.\n",
    );
  });

  it("leaves a dead letter whose request has moved on, and says why", async () => {
    const { k, cli, exhaustedRequest, requestEntries, deadLetterIds } = await setup();
    const a = await exhaustedRequest("req-a");
    // As if another runner had finished it meanwhile: replaying would only be acknowledged.
    await client.hset(k.request("req-a"), "state", "succeeded");
    const r = await cli("replay", a.id);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^hypercode: not replayed ${a.id}: its request req-a is succeeded now, not dead_lettered.*drop it\\.\\n$`,
      ),
    );
    expect(await deadLetterIds()).toEqual([a.id]);
    expect(await requestEntries()).toHaveLength(1);
  });

  it("refuses a malformed id, or ids with --all, with exit 2", async () => {
    const { cli } = await setup();
    const bad = await cli("replay", "latest");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^hypercode: invalid entry id 'latest': it looks like \d+-0/);
    expect((await cli("replay", "1-0", "--all")).stderr).toMatch(/give entry ids or --all, not both/);
    expect((await cli("replay")).stderr).toMatch(/missing <entry-id>/);
  });
});

describe("hypercode dlq drop", () => {
  it("deletes the given dead letters, or all, and names an id that is not there", async () => {
    const { cli, exhaustedRequest, garbage, deadLetterIds, status } = await setup();
    const a = await exhaustedRequest("req-a");
    const b = await garbage();
    const c = await garbage();

    const one = await cli("drop", a.id);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe(`Dropped 1 dead letter: ${a.id}.\n`);
    expect(await deadLetterIds()).toEqual([b.id, c.id]);
    expect((await status.head("req-a")).state).toBe("dead_lettered");

    const missing = await cli("drop", a.id, b.id, "--json");
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toEqual({ dropped: [b.id], missing: [a.id] });

    const all = await cli("drop", "--all");
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(`Dropped 1 dead letter: ${c.id}.\n`);
    expect(await deadLetterIds()).toEqual([]);
  });
});

describe("going through every dead letter (--all)", () => {
  it("visits those there at the start, oldest first, a page at a time, and none written meanwhile", async () => {
    const { k } = await setup();
    const write = (n: number) => {
      const batch = client.pipeline();
      for (let i = 0; i < n; i++) batch.xadd(k.deadLetterStream, "*", "entry_id", `0-${i}`, "reason", "test");
      return batch.exec();
    };
    await write(230);
    const before = (await client.xrange(k.deadLetterStream, "-", "+")).map(([id]) => id);
    const pages: string[][] = [];
    await eachDeadLetterPage(new IoredisAdapter(client), k, async (entries) => {
      pages.push(entries.map((e) => e.id));
      // What a replayed entry that fails again at once would do.
      await write(5);
    });
    expect(pages.map((p) => p.length)).toEqual([100, 100, 30]);
    expect(pages.flat()).toEqual(before);
  });
});
