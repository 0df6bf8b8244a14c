import { HypercodeError } from "../../shared/errors.js";
import { PermanentError, TransientError } from "../errors.js";

interface DockerodeError {
  statusCode?: number;
  json?: { message?: string } | null;
  message?: string;
}

export const statusOf = (err: unknown): number | undefined => (err as DockerodeError | undefined)?.statusCode;

export const messageOf = (err: unknown): string => {
  const e = err as DockerodeError | undefined;
  return e?.json?.message ?? e?.message ?? String(err);
};

/**
 * Gives a failed Docker call its retry decision: the engine refusing the call (4xx) will refuse it
 * again; anything else (socket gone, 5xx, a timeout) may pass later. Errors that already carry a
 * decision pass through.
 */
export const classify = (what: string, err: unknown): HypercodeError => {
  if (err instanceof HypercodeError) return err;
  const status = statusOf(err);
  const message = `${what}: ${messageOf(err)}`;
  return status !== undefined && status >= 400 && status < 500
    ? new PermanentError(message, { cause: err })
    : new TransientError(message, { cause: err });
};

/** Runs a Docker call, treating the listed HTTP statuses (say, 404 on remove) as done. */
export const tolerate = async <T>(call: Promise<T>, ...statuses: number[]): Promise<T | undefined> => {
  try {
    return await call;
  } catch (err) {
    if (statuses.includes(statusOf(err) ?? -1)) return undefined;
    throw err;
  }
};
