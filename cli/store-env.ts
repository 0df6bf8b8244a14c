import { keys } from "../shared/keys.js";
import type { Context } from "./command.js";
import type { RevokeResult } from "./credential-store.js";
import { DEFAULT_REDIS_URL, readEnv } from "./env.js";
import { EXIT } from "./errors.js";
import { printable } from "./printable.js";

/** The store commands (agents, operators, dlq) work on Redis directly: where it is, under which prefix. */
export const storeEnv = (ctx: Context) => {
  const env = readEnv(["REDIS_URL", "KEY_PREFIX"], ctx.env);
  return { url: env.REDIS_URL ?? DEFAULT_REDIS_URL, k: keys(env.KEY_PREFIX) };
};

/** The environment section of their help; `peer` is the process whose KEY_PREFIX must match. */
export const storeEnvHelp = (peer: "intake" | "runner") => `Environment:
  REDIS_URL   where Redis is (default ${DEFAULT_REDIS_URL})
  KEY_PREFIX  prefix of every Redis key (default none; must match the ${peer}'s)`;

/** A record's time as a list shows it: to the second. */
export const listTime = (iso: string | undefined): string => (iso ? iso.replace(/\.\d{3}Z$/, "Z") : "-");

/** What `agents revoke` and `operators revoke` say about the outcome, and their exit code. */
export const reportRevoke = (
  ctx: Context,
  noun: "agent" | "operator",
  id: string,
  result: RevokeResult,
  prefix: string,
): number => {
  const Noun = noun === "agent" ? "Agent" : "Operator";
  switch (result.outcome) {
    case "revoked":
      ctx.out(printable(`${Noun} '${id}' revoked at ${result.revokedAt}; its key no longer works.`));
      return EXIT.ok;
    case "already_revoked":
      // The time is the record's, as Redis holds it.
      ctx.out(printable(`${Noun} '${id}' was already revoked at ${result.revokedAt}; nothing changed.`));
      return EXIT.ok;
    case "not_found":
      ctx.err(
        `hypercode: no ${noun} '${id}'${prefix ? ` under KEY_PREFIX '${prefix}'` : ""} (see 'hypercode ${noun}s list').`,
      );
      return EXIT.failed;
  }
};
