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

/** Throws LockLostError if any of these containers was created under a higher fence. */
export const assertNotFenced = (target: string, fence: number, labels: readonly Labels[]): void => {
  const highest = Math.max(0, ...labels.map(fenceOf));
  if (highest > fence) {
    throw new LockLostError(
      `a later deploy (fence ${highest}) has changed ${target} since this one (fence ${fence}) took its lock`,
    );
  }
};

/**
 * The same check against the target's containers as they are now: one list call, made right before
 * each step that creates, stops or removes a container (a snapshot from the start of the deploy
 * would not show a later deploy's containers).
 */
export const assertFenceNow = async (docker: Dockerode, target: string, fence: number): Promise<void> =>
  assertNotFenced(
    target,
    fence,
    (await listMembers(docker, target)).map((c) => c.Labels),
  );
