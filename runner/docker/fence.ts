import type Dockerode from "dockerode";
import { LockLostError } from "../errors.js";
import { STATE } from "./labels.js";
import type { Labels } from "./policy.js";
import { listMembers } from "./target.js";

/**
 * The fencing token on the Docker side. Every container a deploy creates carries the fence of the
 * target lock that deploy held (`hypercode.fence`); fences only grow. A container with a higher
 * fence than this deploy's means a later lock holder has been at the target, so this deploy's lock
 * expired without it noticing yet (a long pause, a partition from Redis): it must stop touching
 * the target. LockLostError is transient, so the request is retried under a new lock, with a
 * higher fence, and converges.
 */

/** A container's fence; 0 for one the runner did not create (by hand, by compose). */
export const fenceOf = (labels: Labels): number => {
  const n = Number(labels?.[STATE.fence]);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
};

export interface FenceCheck {
  /** The queue side's lock check: throws LockLostError when the lock is no longer this deploy's. */
  readonly assertLockHeld: () => Promise<void>;
  /** Told when the labels are ahead of a lock that is still held (see below). */
  readonly onBehind?: (highest: number) => void;
}

/**
 * Throws LockLostError if any of these containers was created under a higher fence and this
 * deploy's lock is gone. A higher fence under a lock that is still ours cannot come from a later
 * holder (it would have taken the lock from us), only from a fence counter that went back (Redis
 * lost `hypercode:fence:<target>`): refusing then would refuse every deploy of the target forever,
 * so the deploy goes on and `onBehind` says so.
 */
export const assertNotFenced = async (
  target: string,
  fence: number,
  labels: readonly Labels[],
  check: FenceCheck,
): Promise<void> => {
  const highest = Math.max(0, ...labels.map(fenceOf));
  if (highest <= fence) return;
  try {
    await check.assertLockHeld();
  } catch (err) {
    throw new LockLostError(
      `a later deploy (fence ${highest}) has changed ${target} since this one (fence ${fence}) took its lock`,
      { cause: err },
    );
  }
  check.onBehind?.(highest);
};

/**
 * The same check against the target's containers as they are now: one list call, made right before
 * each step that creates, stops or removes a container (a snapshot from the start of the deploy
 * would not show a later deploy's containers).
 */
export const assertFenceNow = async (
  docker: Dockerode,
  target: string,
  fence: number,
  check: FenceCheck,
): Promise<void> =>
  assertNotFenced(
    target,
    fence,
    (await listMembers(docker, target)).map((c) => c.Labels),
    check,
  );
