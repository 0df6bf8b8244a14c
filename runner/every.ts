/**
 * A timed loop: runs `task` every `intervalMs`, never two runs at once (a slow run delays the next
 * instead of piling up), and reports errors instead of dying, so that one Redis blip does not stop
 * a lock renewal or a heartbeat for good. `stop()` waits for a run in progress.
 */
export class Every {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Starts the loop; with `now`, the first run happens at once rather than after one interval. */
  start(now = false): this {
    if (!this.stopped) return this;
    this.stopped = false;
    if (now) this.tick();
    else this.schedule();
    return this;
  }

  /** Runs the task now (waiting for a run in progress first), outside the schedule. */
  async runNow(): Promise<void> {
    await this.running;
    await this.once();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  private tick(): void {
    this.running = this.once().finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }

  private async once(): Promise<void> {
    try {
      await this.task();
    } catch (err) {
      this.onError(err);
    }
  }
}
