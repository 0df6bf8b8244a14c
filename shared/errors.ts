/**
 * Errors that steer control flow. Each carries the decision its catcher needs: the HTTP edge maps
 * `retryable` store errors to 503 + Retry-After; the runner retries them with backoff.
 */
export abstract class HypercodeError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Redis could not be reached or did not answer in time. Transient. */
export class StoreUnavailableError extends HypercodeError {
  readonly retryable = true;
}

/** Redis answered with an error (a script bug, a wrong type). Not transient. */
export class StoreCommandError extends HypercodeError {
  readonly retryable = false;
}

/** EVALSHA for a script the server has not cached; the caller falls back to EVAL. */
export class NoScriptError extends StoreCommandError {}

/** A script answered with something that is not its documented JSON reply. */
export class ScriptReplyError extends StoreCommandError {}

export const isNoScript = (message: string): boolean => message.toUpperCase().includes("NOSCRIPT");
