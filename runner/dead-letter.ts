import type { Redis } from "ioredis";
import { type Keys, RUNNER_GROUP } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import type { StatusStore } from "./status.js";

export interface DeadLetter {
  readonly entryId: string;
  readonly fields: Record<string, string>;
  readonly reason: string;
  readonly deliveries: number;
  /** Set when the entry decoded to a request whose status record is this entry's. */
  readonly requestId?: string;
  /** Fields to create its status record with, if it has none yet. */
  readonly create?: Record<string, string>;
}

/**
 * Moves an entry the runner gives up on to the dead-letter stream: the copy (original id, fields,
 * reason, delivery count), the `dead_lettered` status and the acknowledgement are one MULTI, so a
 * crash leaves all of them or none, never an acked entry that is in no dead-letter stream.
 */
export const deadLetter = async (
  redis: Redis,
  keys: Keys,
  status: StatusStore,
  opts: { runnerId: string; maxLen: number; now: number },
  dl: DeadLetter,
): Promise<void> => {
  const multi = redis.multi();
  if (dl.requestId) {
    const t = status.call(dl.requestId, "dead_lettered", { detail: dl.reason, create: dl.create });
    // EVAL, not EVALSHA: inside MULTI a missing script could not fall back.
    multi.eval(SCRIPTS.transition.source, t.keys.length, ...t.keys, ...t.args);
  }
  multi.xadd(
    keys.deadLetterStream,
    "MAXLEN",
    "~",
    opts.maxLen,
    "*",
    "entry_id",
    dl.entryId,
    "request_id",
    dl.requestId ?? "",
    "reason",
    dl.reason,
    "deliveries",
    dl.deliveries,
    "runner_id",
    opts.runnerId,
    "at",
    new Date(opts.now).toISOString(),
    "fields",
    JSON.stringify(dl.fields),
  );
  multi.xack(keys.requestStream, RUNNER_GROUP, dl.entryId);
  const replies = (await multi.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0];
  if (dl.requestId) status.finalised(dl.requestId, "dead_lettered");
};
