import { randomUUID } from "node:crypto";
import type { Keys } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import type { ScriptReply } from "../shared/protocol/index.js";
import type { IoredisAdapter } from "../shared/redis/ioredis-adapter.js";
import { runJsonScript } from "../shared/redis/run-script.js";
import { LockLostError } from "./errors.js";
import { Every } from "./every.js";

/** The runner id inside a lock token (`<runner>#<uuid>`), for logs and status details. */
export const lockHolder = (token: string | undefined): string => token?.split("#")[0] || "another runner";

export type Acquired = { ok: true; lock: HeldLock } | { ok: false; holder: string };

/**
 * One deploy per target across all runners: a Redis key set with NX and an expiry, renewed while
 * held, released only by its owner, with a fencing token (an ever-growing counter) handed to the
 * deployer so that work done under an expired lock can be told from the current holder's.
 */
export class TargetLocks {
  constructor(
    private readonly scripts: IoredisAdapter,
    private readonly keys: Keys,
    private readonly runnerId: string,
    private readonly ttlMs: number,
    private readonly onRenewError: (err: unknown) => void,
  ) {}

  async acquire(target: string): Promise<Acquired> {
    const token = `${this.runnerId}#${randomUUID()}`;
    const r = await runJsonScript<ScriptReply<{ fence: number }, "lock_acquire">>(
      this.scripts,
      SCRIPTS.lock_acquire,
      [this.keys.targetLock(target), this.keys.targetFence(target)],
      [token, this.ttlMs],
    );
    if (!r.ok) return { ok: false, holder: lockHolder(r.holder as string | undefined) };
    const lock = new HeldLock(this.scripts, this.keys.targetLock(target), target, token, r.fence, this.ttlMs);
    lock.startRenewing(this.onRenewError);
    return { ok: true, lock };
  }
}

export class HeldLock {
  private readonly controller = new AbortController();
  private renewal: Every | undefined;
  private renewedAt = Date.now();

  constructor(
    private readonly scripts: IoredisAdapter,
    private readonly key: string,
    readonly target: string,
    readonly token: string,
    readonly fence: number,
    private readonly ttlMs: number,
  ) {}

  /** Aborted, with a LockLostError as reason, once the lock is known to be lost. */
  get lost(): AbortSignal {
    return this.controller.signal;
  }

  startRenewing(onError: (err: unknown) => void): void {
    const renewUnlessLost = async () => {
      if (!this.lost.aborted) await this.renew();
    };
    this.renewal = new Every(Math.max(1, Math.floor(this.ttlMs / 3)), renewUnlessLost, (err) => {
      onError(err);
      // Unable to reach Redis for a whole TTL: the key has expired by now, someone else may hold it.
      if (Date.now() - this.renewedAt >= this.ttlMs) this.markLost("could not renew it for a whole lock TTL");
    }).start();
  }

  /** Extends the lock; throws LockLostError if it is no longer this owner's. */
  async renew(): Promise<void> {
    if (this.lost.aborted) throw this.lost.reason;
    const r = await runJsonScript<ScriptReply<object, "lock_renew">>(
      this.scripts,
      SCRIPTS.lock_renew,
      [this.key],
      [this.token, this.ttlMs],
    );
    if (r.ok) {
      this.renewedAt = Date.now();
      return;
    }
    throw this.markLost(typeof r.holder === "string" ? `${lockHolder(r.holder)} holds it now` : "it expired");
  }

  /** Stops renewing and deletes the key if it is still this owner's. */
  async release(): Promise<void> {
    await this.renewal?.stop();
    if (this.lost.aborted) return;
    this.markLost("released");
    await runJsonScript(this.scripts, SCRIPTS.lock_release, [this.key], [this.token]);
  }

  private markLost(why: string): LockLostError {
    if (!this.lost.aborted) {
      this.controller.abort(new LockLostError(`lost the deploy lock of target '${this.target}': ${why}`));
    }
    return this.lost.reason as LockLostError;
  }
}
