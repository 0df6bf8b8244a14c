import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { inject } from "vitest";
import { createIoredisClient } from "../../shared/redis/ioredis-adapter.js";

export const redisUrl = (): string => inject("redisUrl");

/** A key prefix no other test uses; everything a test writes lives under it. */
export const freshPrefix = (): string => `t${randomBytes(5).toString("hex")}:`;

/** A plain client with the offline queue on, for test set-up and assertions. */
export const testClient = (): Redis =>
  createIoredisClient(redisUrl(), { enableOfflineQueue: true, maxRetriesPerRequest: 3 });

/** Deletes every key under a prefix. */
export const deletePrefix = async (client: Redis, prefix: string): Promise<void> => {
  let cursor = "0";
  do {
    const [next, found] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (found.length > 0) await client.del(...found);
  } while (cursor !== "0");
};
