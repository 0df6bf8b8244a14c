/** Why an entry waits: a retry after a failure counts as a delivery, waiting for a lock does not. */
export interface Waiting {
  readonly id: string;
  readonly at: number;
  readonly counted: boolean;
}

/**
 * Entries this runner left pending, to take up again at a given time (a retry after a backoff, or
 * a look at a target that was locked). Why not a delayed-retry zset in Redis: the entry would then
 * live in two places (the zset and the group's pending list) and need a claim protocol of its own.
 * Left pending, it stays in the one place Redis already guards: its delivery count is the pending
 * list's, the heartbeat keeps it this runner's while it waits, and if the runner dies other
 * runners reclaim it from the pending list. So nothing that matters lives only in this map.
 */
export class RetrySchedule {
  private readonly waiting = new Map<string, Waiting>();

  set(id: string, at: number, counted: boolean): void {
    this.waiting.set(id, { id, at, counted });
  }

  has(id: string): boolean {
    return this.waiting.has(id);
  }

  delete(id: string): boolean {
    return this.waiting.delete(id);
  }

  get size(): number {
    return this.waiting.size;
  }

  ids(): string[] {
    return [...this.waiting.keys()];
  }

  /** The entry whose time came first, if it has come; removed from the schedule. */
  takeDue(now: number): Waiting | undefined {
    let due: Waiting | undefined;
    for (const w of this.waiting.values()) if (w.at <= now && (!due || w.at < due.at)) due = w;
    if (due) this.waiting.delete(due.id);
    return due;
  }

  /** Milliseconds until the next entry is due (Infinity when none waits). */
  msUntilNext(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const w of this.waiting.values()) next = Math.min(next, w.at - now);
    return Math.max(0, next);
  }
}
