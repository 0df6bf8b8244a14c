import { ScriptReplyError } from "../shared/errors.js";
import type { Keys } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import type { ScriptReply } from "../shared/protocol/index.js";
import type { RedisPort } from "../shared/redis/port.js";
import { asList, runJsonScript } from "../shared/redis/run-script.js";

/**
 * The operator's side of the dead-letter stream, where the runner puts entries it gives up on
 * (runner/dead-letter.ts writes them): list them, put them back on the request stream, or drop
 * them. Each change is one Lua script, so an entry is never in both streams, nor in neither.
 */

/** A dead letter as the runner wrote it, for `dlq list`. */
export interface DeadLetterView {
  /** Its id in the dead-letter stream: what `dlq replay` and `dlq drop` take. */
  readonly id: string;
  /** Its id in the request stream, where it came from. */
  readonly entry_id: string;
  /** The request it decoded to, if any (undecodable entries have none). */
  readonly request_id: string | null;
  readonly reason: string;
  readonly deliveries: number;
  readonly runner_id: string;
  readonly at: string;
  /** The original entry's fields (`payload`, usually), or null if they could not be read. */
  readonly fields: Record<string, string> | null;
}

/** A stream entry id, `<ms>-<seq>`. */
export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

const PAGE = 100;

const parseFields = (text: string | undefined): Record<string, string> | null => {
  try {
    const v = JSON.parse(text ?? "");
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : null;
  } catch {
    return null;
  }
};

const view = (id: string, f: Record<string, string>): DeadLetterView => ({
  id,
  entry_id: f.entry_id ?? "",
  request_id: f.request_id ? f.request_id : null,
  reason: f.reason ?? "",
  deliveries: Number(f.deliveries ?? 0),
  runner_id: f.runner_id ?? "",
  at: f.at ?? "",
  fields: parseFields(f.fields),
});

export interface ListOptions {
  /** Most entries to return (default 100). */
  readonly count?: number;
  /** Take them from the newest end (they are still returned oldest first). */
  readonly newest?: boolean;
  /** Only entries after this id. */
  readonly after?: string;
  /** Only entries up to this id, inclusive. */
  readonly upTo?: string;
}

export const listDeadLetters = async (
  redis: RedisPort,
  k: Keys,
  opts: ListOptions = {},
): Promise<{ length: number; entries: DeadLetterView[] }> => {
  const reply = await runJsonScript<ScriptReply<{ length: number; entries: unknown }, "dlq_list">>(
    redis,
    SCRIPTS.dlq_list,
    [k.deadLetterStream],
    [
      opts.after ? `(${opts.after}` : "-",
      opts.upTo ?? "+",
      opts.count ?? PAGE,
      opts.newest ? "newest" : "oldest",
    ],
  );
  if (!reply.ok) throw new ScriptReplyError(`dlq_list answered ${JSON.stringify(reply)}`);
  const entries = asList<{ id: string; fields: Record<string, string> }>(reply.entries);
  return { length: reply.length ?? 0, entries: entries.map((e) => view(e.id, e.fields)) };
};

/** One dead letter by its id, or undefined if there is none (any more). */
export const readDeadLetter = async (
  redis: RedisPort,
  k: Keys,
  id: string,
): Promise<DeadLetterView | undefined> => {
  const { entries } = await listDeadLetters(redis, k, { upTo: id, count: 1, newest: true });
  return entries[0]?.id === id ? entries[0] : undefined;
};

/**
 * Calls `fn` with every dead letter there is when it starts, oldest first, a page at a time. Those
 * written meanwhile are left for next time: a replayed entry that fails again must not come round.
 */
export const eachDeadLetterPage = async (
  redis: RedisPort,
  k: Keys,
  fn: (entries: DeadLetterView[]) => Promise<void>,
): Promise<void> => {
  const newest = (await listDeadLetters(redis, k, { count: 1, newest: true })).entries[0];
  if (!newest) return;
  let after: string | undefined;
  for (;;) {
    const { entries } = await listDeadLetters(redis, k, { after, upTo: newest.id, count: PAGE });
    if (entries.length > 0) await fn(entries);
    const last = entries.at(-1);
    if (!last || entries.length < PAGE) return;
    after = last.id;
  }
};

export type ReplayResult =
  /** Back on the request stream as `entryId`; `revived`: its request is `queued` again. */
  | { outcome: "replayed"; entryId: string; revived: boolean }
  | { outcome: "not_found" }
  | { outcome: "no_fields" }
  /** Its request's record moved on from `dead_lettered`: replaying it would do nothing. */
  | { outcome: "not_dead_lettered"; state: string };

/** Moves one dead letter back to the request stream (see shared/lua/dlq_replay.lua). */
export const replayDeadLetter = async (
  redis: RedisPort,
  k: Keys,
  entry: Pick<DeadLetterView, "id" | "request_id">,
  now: Date = new Date(),
): Promise<ReplayResult> => {
  const requestId = entry.request_id ?? "";
  const requestKeys = requestId ? [k.request(requestId), k.statusStream, k.requestEvents(requestId)] : [];
  const reply = await runJsonScript<ScriptReply<{ entry_id: string; revived: boolean }, "dlq_replay">>(
    redis,
    SCRIPTS.dlq_replay,
    [k.deadLetterStream, k.requestStream, ...requestKeys],
    [entry.id, requestId, now.toISOString()],
  );
  if (reply.ok) return { outcome: "replayed", entryId: reply.entry_id, revived: reply.revived === true };
  switch (reply.error) {
    case "not_found":
    case "no_fields":
      return { outcome: reply.error };
    case "not_dead_lettered":
      return { outcome: "not_dead_lettered", state: String(reply.state ?? "?") };
    case "mismatch":
      throw new ScriptReplyError(
        `dlq_replay: dead letter ${entry.id} names another request than the one read in it (${requestId})`,
      );
  }
};

/** Deletes dead letters; returns the ids that were there. */
export const dropDeadLetters = async (
  redis: RedisPort,
  k: Keys,
  ids: readonly string[],
): Promise<string[]> => {
  if (ids.length === 0) return [];
  const reply = await runJsonScript<ScriptReply<{ dropped: unknown }, "dlq_drop">>(
    redis,
    SCRIPTS.dlq_drop,
    [k.deadLetterStream],
    ids,
  );
  if (!reply.ok) throw new ScriptReplyError(`dlq_drop answered ${JSON.stringify(reply)}`);
  return asList<string>(reply.dropped);
};
