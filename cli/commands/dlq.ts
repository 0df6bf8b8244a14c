import { type keys, STREAMS } from "../../shared/keys.js";
import type { RedisPort } from "../../shared/redis/port.js";
import { type Command, parseCommandLine } from "../command.js";
import {
  type DeadLetterView,
  dropDeadLetters,
  eachDeadLetterPage,
  listDeadLetters,
  readDeadLetter,
  replayDeadLetter,
  STREAM_ID,
} from "../dead-letters.js";
import { EXIT, UsageError } from "../errors.js";
import { printable } from "../printable.js";
import { withRedis } from "../redis.js";
import { storeEnv, storeEnvHelp } from "../store-env.js";
import { formatTable } from "../table.js";

const DEFAULT_COUNT = 50;

const ENV_HELP = storeEnvHelp("runner");

/** `<entry-id>...` or `--all`, checked before Redis is touched. */
const selection = (name: string, ids: readonly string[], all: boolean): readonly string[] | "all" => {
  if (all && ids.length > 0) throw new UsageError("give entry ids or --all, not both", name);
  if (all) return "all";
  if (ids.length === 0)
    throw new UsageError("missing <entry-id> (as 'hypercode dlq list' shows it) or --all", name);
  const bad = ids.filter((id) => !STREAM_ID.test(id));
  if (bad.length > 0)
    throw new UsageError(
      bad
        .map((id) => `invalid entry id '${id}': it looks like 1718000000000-0 (see 'hypercode dlq list')`)
        .join("\n"),
      name,
    );
  return ids;
};

const parseSelection = (name: string, argv: string[]) => {
  const { values, positionals } = parseCommandLine(name, argv, {
    all: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  });
  return { json: values.json, selected: selection(name, positionals, values.all) };
};

const list: Command = {
  words: ["dlq", "list"],
  summary: "list dead letters: entries the runner gave up on, with the reason",
  help: `Usage: hypercode dlq list [--count ${DEFAULT_COUNT}] [--json]

Lists the newest entries of the dead-letter stream (${STREAMS.deadLetter}), oldest of them
first: entries the runner gave up on (undecodable, or delivered too often), each with its id
there (what 'dlq replay' and 'dlq drop' take), the request stream entry it came from, its request
if it decoded to one, how often it was delivered, when, and why.

Options:
  --count <n>  how many to show, the newest (default ${DEFAULT_COUNT})
  --json       print {"length", "entries": [{id, entry_id, request_id, reason, deliveries,
               runner_id, at, fields}]} instead of a table
  -h, --help   show this help

${ENV_HELP}`,
  async run(argv, ctx) {
    const name = "dlq list";
    const { values, positionals } = parseCommandLine(name, argv, {
      count: { type: "string", default: String(DEFAULT_COUNT) },
      json: { type: "boolean", default: false },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, name);
    const count = Number(values.count);
    if (!/^\d+$/.test(values.count) || count < 1 || count > 10_000)
      throw new UsageError(`invalid --count '${values.count}': a whole number from 1 to 10000`, name);
    const { url, k } = storeEnv(ctx);
    const { length, entries } = await withRedis(url, (redis) =>
      listDeadLetters(redis, k, { count, newest: true }),
    );
    if (values.json) {
      ctx.out(JSON.stringify({ length, entries }));
      return EXIT.ok;
    }
    if (entries.length === 0) {
      ctx.out("The dead-letter stream is empty.");
      return EXIT.ok;
    }
    const heading =
      entries.length < length
        ? `The newest ${entries.length} of ${length} dead letters (--count for more):`
        : `${length} dead letter${length === 1 ? "" : "s"}:`;
    ctx.out(
      `${heading}\n${formatTable([
        ["ID", "ENTRY", "REQUEST", "DELIVERIES", "AT", "REASON"],
        ...entries.map((e) => [
          e.id,
          e.entry_id,
          e.request_id ?? "-",
          String(e.deliveries),
          e.at.replace(/\.\d{3}Z$/, "Z"),
          e.reason,
        ]),
      ])}`,
    );
    return EXIT.ok;
  },
};

type Replayed = { id: string; entry_id: string; request_id: string | null; revived: boolean };
type Skipped = { id: string; reason: string };

const replayOne = async (
  redis: RedisPort,
  k: ReturnType<typeof keys>,
  entry: DeadLetterView,
): Promise<Replayed | Skipped> => {
  const r = await replayDeadLetter(redis, k, entry);
  switch (r.outcome) {
    case "replayed":
      return { id: entry.id, entry_id: r.entryId, request_id: entry.request_id, revived: r.revived };
    case "not_found":
      return { id: entry.id, reason: "it is not in the dead-letter stream any more" };
    case "no_fields":
      return { id: entry.id, reason: "it holds no original fields to replay; drop it" };
    case "not_dead_lettered":
      return {
        id: entry.id,
        reason: `its request ${entry.request_id} is ${r.state} now, not dead_lettered, so the runner would not redo it; drop it`,
      };
  }
};

const replay: Command = {
  words: ["dlq", "replay"],
  summary: "put dead letters back on the request stream (their requests are queued again)",
  help: `Usage: hypercode dlq replay <entry-id>... | --all [--json]

Puts dead letters back on the request stream (${STREAMS.requests}) as new entries with their
original fields, and deletes them from the dead-letter stream, each in one atomic step. A request
the runner dead-lettered goes back to 'queued' (its timeline says it was replayed), so the runner
carries it out again with a fresh delivery count. Fix the cause first (the reason column of
'hypercode dlq list'), or it ends up here again.

Arguments:
  <entry-id>  a dead letter's id, as 'hypercode dlq list' shows it (repeatable)

Options:
  --all       every dead letter there is when the command starts (one that fails again meanwhile
              is not replayed twice)
  --json      print {"replayed": [{id, entry_id, request_id, revived}], "skipped": [{id, reason}]}
  -h, --help  show this help

Exit codes: 0 all replayed; 1 any not found or not replayable (each is named), or Redis
unreachable; 2 invalid arguments.

${ENV_HELP}`,
  async run(argv, ctx) {
    const { json, selected } = parseSelection("dlq replay", argv);
    const { url, k } = storeEnv(ctx);
    const results = await withRedis(url, async (redis) => {
      const out: (Replayed | Skipped)[] = [];
      if (selected === "all") {
        await eachDeadLetterPage(redis, k, async (entries) => {
          for (const e of entries) out.push(await replayOne(redis, k, e));
        });
        return out;
      }
      for (const id of selected) {
        const entry = await readDeadLetter(redis, k, id);
        out.push(entry ? await replayOne(redis, k, entry) : { id, reason: "there is no such dead letter" });
      }
      return out;
    });
    const replayed = results.filter((r): r is Replayed => "entry_id" in r);
    const skipped = results.filter((r): r is Skipped => "reason" in r);
    if (json) ctx.out(JSON.stringify({ replayed, skipped }));
    else {
      if (results.length === 0) ctx.out("The dead-letter stream is empty; nothing to replay.");
      for (const r of replayed) {
        const request = r.request_id
          ? ` (request ${r.request_id}${r.revived ? " is queued again" : ""})`
          : "";
        ctx.out(printable(`Replayed ${r.id} as request stream entry ${r.entry_id}${request}.`));
      }
      // A reason quotes the dead letter's request id and its record's state: Redis data.
      for (const s of skipped) ctx.err(printable(`hypercode: not replayed ${s.id}: ${s.reason}.`));
    }
    return skipped.length > 0 ? EXIT.failed : EXIT.ok;
  },
};

const drop: Command = {
  words: ["dlq", "drop"],
  summary: "delete dead letters for good",
  help: `Usage: hypercode dlq drop <entry-id>... | --all [--json]

Deletes dead letters from the dead-letter stream for good. Their requests stay 'dead_lettered'.

Arguments:
  <entry-id>  a dead letter's id, as 'hypercode dlq list' shows it (repeatable)

Options:
  --all       every dead letter there is when the command starts
  --json      print {"dropped": [ids], "missing": [ids]}
  -h, --help  show this help

Exit codes: 0 all dropped; 1 any id not found (each is named), or Redis unreachable; 2 invalid
arguments.

${ENV_HELP}`,
  async run(argv, ctx) {
    const { json, selected } = parseSelection("dlq drop", argv);
    const { url, k } = storeEnv(ctx);
    const dropped = await withRedis(url, async (redis) => {
      if (selected !== "all") return dropDeadLetters(redis, k, selected);
      const out: string[] = [];
      await eachDeadLetterPage(redis, k, async (entries) => {
        out.push(
          ...(await dropDeadLetters(
            redis,
            k,
            entries.map((e) => e.id),
          )),
        );
      });
      return out;
    });
    const missing = selected === "all" ? [] : selected.filter((id) => !dropped.includes(id));
    if (json) ctx.out(JSON.stringify({ dropped, missing }));
    else {
      ctx.out(
        dropped.length === 0
          ? "Nothing dropped."
          : printable(
              `Dropped ${dropped.length} dead letter${dropped.length === 1 ? "" : "s"}: ${dropped.join(", ")}.`,
            ),
      );
      for (const id of missing) ctx.err(`hypercode: no dead letter ${id} (see 'hypercode dlq list').`);
    }
    return missing.length > 0 ? EXIT.failed : EXIT.ok;
  },
};

export const dlqCommands: readonly Command[] = [list, replay, drop];
