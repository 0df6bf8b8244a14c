import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Delivery, StreamConsumer } from "./consume.js";
import type { Heartbeat } from "./heartbeat.js";
import type { RetrySchedule } from "./schedule.js";

/** The longest a blocking read waits before the loop looks at its timers again. */
export const MAX_BLOCK_MS = 5000;

export interface ReadLoopDeps {
  readonly consumer: StreamConsumer;
  /** The blocking read's own connection; dropped only if CLIENT UNBLOCK cannot end a read. */
  readonly blocking: Redis;
  readonly schedule: RetrySchedule;
  readonly heartbeat: Heartbeat;
  readonly claimIdleMs: number;
  readonly clock: () => number;
  readonly log: Logger;
  /** Takes one delivery through the pipeline; the loop waits for it (one job in hand at a time). */
  readonly handle: (d: Delivery) => Promise<void>;
}

/**
 * Where the runner's work comes from, in order: its own pending entries (a previous life's work)
 * once at start; then, each round, a retry whose time has come, an entry a dead runner left idle,
 * or a new entry (a blocking read that wakes up in time for the next retry).
 */
export class ReadLoop {
  private stopping = false;
  private reading = false;
  private running = false;
  private done: Promise<void> | undefined;

  constructor(private readonly deps: ReadLoopDeps) {}

  /** Reading, and not stopping. */
  get alive(): boolean {
    return this.running && !this.stopping;
  }

  start(): void {
    if (this.done) return;
    this.running = true;
    this.done = this.run()
      .catch((err) => this.deps.log.fatal({ err }, "the read loop died"))
      .finally(() => {
        this.running = false;
      });
  }

  /** No new work; resolves when the job in hand (if any) is done. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.interruptRead();
    await this.done;
  }

  private async run(): Promise<void> {
    const { consumer, schedule, heartbeat, clock, log } = this.deps;
    const reclaimEveryMs = Math.max(50, Math.min(this.deps.claimIdleMs / 2, MAX_BLOCK_MS));
    let nextReclaimAt = 0;
    let drained = false;
    while (!this.stopping) {
      try {
        if (!drained) {
          await this.drainOwnPending();
          drained = true;
          continue;
        }
        const now = clock();
        const due = schedule.takeDue(now);
        if (due) {
          const d = await consumer.redeliver(due.id, due.counted);
          if (d) await this.deps.handle(d);
          else heartbeat.delete(due.id);
          continue;
        }
        if (now >= nextReclaimAt) {
          const d = await consumer.reclaimIdle(this.deps.claimIdleMs);
          if (d) {
            log.info(
              { entry_id: d.id, deliveries: d.deliveries },
              "reclaimed an entry another runner left idle",
            );
            await this.deps.handle(d);
            continue;
          }
          nextReclaimAt = now + reclaimEveryMs;
        }
        const d = await this.readNew(Math.min(MAX_BLOCK_MS, schedule.msUntilNext(now), nextReclaimAt - now));
        if (d) await this.deps.handle(d);
      } catch (err) {
        if (this.stopping) break;
        log.error({ err }, "the read loop failed; trying again in a second");
        await sleep(1000);
        // A Redis that restarted without its data has lost the group too.
        if (err instanceof Error && err.message.includes("NOGROUP")) {
          await consumer.ensureGroup().catch(() => undefined);
        }
      }
    }
  }

  private async drainOwnPending(): Promise<void> {
    let after = "0";
    while (!this.stopping) {
      const { entries, next } = await this.deps.consumer.readOwnPending(after, 10);
      if (next === undefined) return;
      for (const d of entries) {
        if (this.stopping) return;
        await this.deps.handle(d);
      }
      after = next;
    }
  }

  private async readNew(blockMs: number): Promise<Delivery | undefined> {
    this.reading = true;
    try {
      if (this.stopping) return undefined;
      return await this.deps.consumer.readNew(blockMs);
    } finally {
      this.reading = false;
    }
  }

  /** Ends a blocking read in progress without losing an entry it may be receiving. */
  private async interruptRead(): Promise<void> {
    for (let i = 0; this.reading && i < 20; i++) {
      await this.deps.consumer.unblock().catch(() => undefined);
      if (this.reading) await sleep(50);
    }
    if (this.reading) this.deps.blocking.disconnect();
  }
}
