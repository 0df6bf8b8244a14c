import { Every } from "./every.js";

export interface HeartbeatOptions {
  /** Well under the claim idle time (a third by default), so one late beat does not lose an entry. */
  readonly intervalMs: number;
  /** Resets the idle time of the entries still ours; answers the ids that no longer are. */
  readonly touch: (ids: readonly string[]) => Promise<readonly string[]>;
  /** Entries another runner reclaimed or acknowledged meanwhile: stop treating them as ours. */
  readonly onLost: (ids: readonly string[]) => void;
  readonly onError: (err: unknown) => void;
}

/**
 * Keeps the stream entries this runner holds (the job in hand, and those waiting for a retry or a
 * lock) from looking abandoned. Other runners reclaim entries idle longer than the claim idle
 * time; a deploy or a backoff may well last longer than that, and must not be stolen while this
 * runner is alive. When the runner dies the beats stop, and its entries become reclaimable.
 */
export class Heartbeat {
  private readonly held = new Set<string>();
  private readonly loop: Every;

  constructor(private readonly opts: HeartbeatOptions) {
    this.loop = new Every(opts.intervalMs, () => this.beat(), opts.onError);
  }

  add(id: string): void {
    this.held.add(id);
  }

  delete(id: string): void {
    this.held.delete(id);
  }

  has(id: string): boolean {
    return this.held.has(id);
  }

  get ids(): string[] {
    return [...this.held];
  }

  start(): this {
    this.loop.start();
    return this;
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One beat for every entry held now; public so that a test can drive it without waiting. */
  async beat(): Promise<void> {
    const ids = this.ids;
    if (ids.length === 0) return;
    const lost = await this.opts.touch(ids);
    if (lost.length === 0) return;
    for (const id of lost) this.held.delete(id);
    this.opts.onLost(lost);
  }
}
