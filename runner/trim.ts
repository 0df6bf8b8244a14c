import type { Redis } from "ioredis";
import type { Keys } from "../shared/keys.js";
import type { StreamConsumer } from "./consume.js";
import { minId } from "./stream-id.js";

const nextId = (id: string): string => {
  const [ms = "0", seq = "0"] = id.split("-");
  return `${ms}-${BigInt(seq) + 1n}`;
};

/**
 * Trims the request stream of acknowledged entries older than the retention. The cut is the
 * oldest of: the retention boundary, the oldest entry still pending on any runner, and the first
 * entry no runner has read yet; so an entry that is pending or unread is never removed. Reading
 * those two before trimming is safe without a transaction: meanwhile the pending list can only
 * gain entries the group had not read yet, which lie after the cut.
 */
export const trimStream = async (
  redis: Redis,
  keys: Keys,
  consumer: StreamConsumer,
  retentionMs: number,
  now: number,
): Promise<{ minId: string; removed: number } | undefined> => {
  const info = await consumer.groupInfo();
  if (!info) return undefined;
  const oldestPending = await consumer.oldestPendingId();
  const cut = minId(
    `${Math.max(0, now - retentionMs)}-0`,
    oldestPending,
    nextId(info.lastDeliveredId),
  ) as string;
  const removed = await redis.xtrim(keys.requestStream, "MINID", cut);
  return { minId: cut, removed };
};
