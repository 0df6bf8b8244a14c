import { HypercodeError } from "../shared/errors.js";

/**
 * Errors a deploy may throw, each carrying its retry decision. Anything else thrown during a job
 * is treated as transient (retried with backoff, then dead-lettered after the delivery bound).
 */

/** Worth another try later: Docker or Redis unavailable, a timeout. */
export class TransientError extends HypercodeError {
  readonly retryable = true;
}

/** Will fail the same way every time: no retry. The request ends `failed`. */
export class PermanentError extends HypercodeError {
  readonly retryable = false;
}

/**
 * The runner's own policy says no: unknown or non-enabled target, disallowed action, build arg,
 * env key or image, or a change that would add privilege. The request ends `rejected` and Docker
 * is not touched.
 */
export class PolicyRefusal extends PermanentError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The target lock was lost (expired and taken by another runner): stop touching the target. */
export class LockLostError extends TransientError {}

export const isRetryable = (err: unknown): boolean => !(err instanceof HypercodeError) || err.retryable;
