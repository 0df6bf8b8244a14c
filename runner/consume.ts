import type { Redis } from "ioredis";
import { type Keys, RUNNER_GROUP } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import { fieldsToRecord, type ScriptReply } from "../shared/protocol/index.js";
import type { IoredisAdapter } from "../shared/redis/ioredis-adapter.js";
import { asList, runJsonScript } from "../shared/redis/run-script.js";
import { compareIds } from "./stream-id.js";

/** One hand-out of a stream entry to this runner. */
export interface Delivery {
  readonly id: string;
  readonly fields: Record<string, string>;
  /** How many times the group has handed this entry out, this time included. */
  readonly deliveries: number;
}

/** An entry of the request stream not yet acknowledged: pending on some consumer, or not yet read. */
export interface OpenEntry {
  readonly id: string;
  readonly fields: Record<string, string>;
  readonly pending: boolean;
}

export interface GroupInfo {
  readonly pending: number;
  readonly lastDeliveredId: string;
  /** Entries not yet handed to any consumer; null when Redis cannot tell (after deletions). */
  readonly lag: number | null;
}

type RawEntry = [string, string[] | null];
type ReadReply = [string, RawEntry[]][] | null;

/**
 * The runner's side of the consumer group: one consumer per runner, reading its own pending
 * entries first, then new ones, and reclaiming entries that dead runners left idle. Blocking reads
 * use their own connection, so that heartbeats and lock renewals never wait behind them.
 */
export class StreamConsumer {
  private readonly redis: Redis;
  private blockingId: number | undefined;
  private reclaimCursor = "0-0";

  constructor(
    /** The runner's one Redis port: scripts through it, stream commands on its client. */
    private readonly scripts: IoredisAdapter,
    private readonly blocking: Redis,
    private readonly keys: Keys,
    readonly consumer: string,
  ) {
    this.redis = scripts.client;
    // A reconnect is a new client with a new id; CLIENT UNBLOCK must name the current one.
    blocking.on("close", () => {
      this.blockingId = undefined;
    });
  }

  private get stream(): string {
    return this.keys.requestStream;
  }

  /** Creates the group from the stream's start, so entries written before any runner ran are read. */
  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup("CREATE", this.stream, RUNNER_GROUP, "0", "MKSTREAM");
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("BUSYGROUP"))) throw err;
    }
  }

  /**
   * This consumer's own pending entries after `after` (a previous life's work), oldest first, and
   * the id to continue from (undefined: none left).
   */
  async readOwnPending(after: string, count: number): Promise<{ entries: Delivery[]; next?: string }> {
    const reply = (await this.redis.xreadgroup(
      "GROUP",
      RUNNER_GROUP,
      this.consumer,
      "COUNT",
      count,
      "STREAMS",
      this.stream,
      after,
    )) as ReadReply;
    const raw = reply?.[0]?.[1] ?? [];
    return { entries: await this.withCounts(raw), next: raw[raw.length - 1]?.[0] };
  }

  /** Waits up to `blockMs` for one new entry. */
  async readNew(blockMs: number): Promise<Delivery | undefined> {
    this.blockingId ??= (await this.blocking.client("ID")) as number;
    const reply = (await this.blocking.xreadgroup(
      "GROUP",
      RUNNER_GROUP,
      this.consumer,
      "COUNT",
      1,
      "BLOCK",
      Math.max(1, Math.round(blockMs)),
      "STREAMS",
      this.stream,
      ">",
    )) as ReadReply;
    const entry = reply?.[0]?.[1]?.[0];
    if (!entry?.[1]) return undefined;
    return { id: entry[0], fields: fieldsToRecord(entry[1]), deliveries: 1 };
  }

  /** Ends a blocking read at once, as if it had timed out (so no entry is lost in flight). */
  async unblock(): Promise<void> {
    if (this.blockingId !== undefined) await this.redis.client("UNBLOCK", this.blockingId);
  }

  /** Claims one entry that another consumer (a dead runner) left idle longer than `minIdleMs`. */
  async reclaimIdle(minIdleMs: number): Promise<Delivery | undefined> {
    const [next, entries] = (await this.redis.xautoclaim(
      this.stream,
      RUNNER_GROUP,
      this.consumer,
      minIdleMs,
      this.reclaimCursor,
      "COUNT",
      1,
    )) as [string, RawEntry[]];
    this.reclaimCursor = next;
    return (await this.withCounts(entries))[0];
  }

  /** Takes up again an entry left pending for a retry, if it is still ours. */
  async redeliver(id: string, counted: boolean): Promise<Delivery | undefined> {
    const r = await runJsonScript<ScriptReply<{ fields: string[]; deliveries: number }, "entry_redeliver">>(
      this.scripts,
      SCRIPTS.entry_redeliver,
      [this.stream],
      [RUNNER_GROUP, this.consumer, id, counted ? "1" : "0"],
    );
    if (!r.ok) return undefined;
    return { id, fields: fieldsToRecord(asList<string>(r.fields)), deliveries: r.deliveries };
  }

  /** Sets the idle time of entries still ours (0: a heartbeat); answers those no longer ours. */
  async touch(ids: readonly string[], idleMs = 0): Promise<string[]> {
    if (ids.length === 0) return [];
    const r = await runJsonScript<{ lost?: string[] }>(
      this.scripts,
      SCRIPTS.entry_touch,
      [this.stream],
      [RUNNER_GROUP, this.consumer, idleMs, ...ids],
    );
    return asList<string>(r.lost);
  }

  async ack(...ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.xack(this.stream, RUNNER_GROUP, ...ids);
  }

  async groupInfo(): Promise<GroupInfo | undefined> {
    const groups = (await this.redis.xinfo("GROUPS", this.stream)) as (string | number | null)[][];
    for (const flat of groups) {
      const g: Record<string, string | number | null> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) g[String(flat[i])] = flat[i + 1] ?? null;
      if (g.name !== RUNNER_GROUP) continue;
      return {
        pending: Number(g.pending ?? 0),
        lastDeliveredId: String(g["last-delivered-id"] ?? "0-0"),
        lag: typeof g.lag === "number" ? g.lag : null,
      };
    }
    return undefined;
  }

  /** The oldest entry pending on any consumer of the group. */
  async oldestPendingId(): Promise<string | undefined> {
    const [count, oldest] = (await this.redis.xpending(this.stream, RUNNER_GROUP)) as [number, string | null];
    return count > 0 && oldest ? oldest : undefined;
  }

  /**
   * Entries not yet acknowledged: pending on any consumer, then those no consumer has read yet,
   * up to `limit` of each, oldest first. Entries deleted from the stream are left out.
   */
  async openEntries(limit: number): Promise<OpenEntry[]> {
    const pel = (await this.redis.xpending(this.stream, RUNNER_GROUP, "-", "+", limit)) as [
      string,
      ...unknown[],
    ][];
    const info = await this.groupInfo();
    const pipeline = this.redis.pipeline();
    for (const [id] of pel) pipeline.xrange(this.stream, id, id);
    pipeline.xrange(this.stream, `(${info?.lastDeliveredId ?? "0-0"}`, "+", "COUNT", limit);
    const replies = (await pipeline.exec()) ?? [];
    const out: OpenEntry[] = [];
    replies.forEach(([err, value], i) => {
      if (err) throw err;
      for (const [id, fields] of value as RawEntry[]) {
        if (fields) out.push({ id, fields: fieldsToRecord(fields), pending: i < pel.length });
      }
    });
    return out.sort((a, b) => compareIds(a.id, b.id));
  }

  /** Entries as read, with their delivery counts from the pending list; deleted ones are acked. */
  private async withCounts(entries: RawEntry[]): Promise<Delivery[]> {
    const gone = entries.filter(([, f]) => f === null).map(([id]) => id);
    await this.ack(...gone);
    const live = entries.filter((e): e is [string, string[]] => e[1] !== null);
    if (live.length === 0) return [];
    const first = live[0]?.[0] as string;
    const last = live[live.length - 1]?.[0] as string;
    const pel = (await this.redis.xpending(
      this.stream,
      RUNNER_GROUP,
      first,
      last,
      live.length,
      this.consumer,
    )) as [string, string, number, number][];
    const counts = new Map(pel.map(([id, , , n]) => [id, n]));
    return live.map(([id, fields]) => ({
      id,
      fields: fieldsToRecord(fields),
      deliveries: counts.get(id) ?? 1,
    }));
  }
}
