/** What `hypercode` exits with; listed in `hypercode --help`. */
export const EXIT = {
  ok: 0,
  /** The command was understood but could not be carried out (Redis unreachable, bad config, refused). */
  failed: 1,
  /** The command line itself is wrong: unknown command or option, invalid argument. */
  usage: 2,
  /** A request the command followed (`submit --wait`, `watch`) ended failed, rolled_back, rejected or dead_lettered. */
  requestFailed: 3,
} as const;

/** An error the CLI reports as one message and an exit code, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A wrong command line; `command` names the help to point at (`hypercode <command> --help`). */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message, EXIT.usage);
  }
}

/** The CLI could not talk to Redis at all; the message names the URL and the variable to fix. */
export class RedisUnreachableError extends CliError {
  constructor(url: string, reason: string) {
    super(`cannot reach Redis at ${url}: ${reason} (set REDIS_URL)`);
  }
}

/** A server that could not listen; the usual cause (a port in use) named with the variable to change. */
export const explainListenError = (err: unknown, address: string, variable: string): unknown => {
  const code = (err as { code?: string }).code;
  if (code === "EADDRINUSE") return new CliError(`${address} is already in use (set ${variable})`);
  if (code === "EACCES" || code === "EADDRNOTAVAIL") {
    return new CliError(`cannot listen on ${address}: ${(err as Error).message} (set ${variable})`);
  }
  return err;
};
