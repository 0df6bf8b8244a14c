import * as z from "zod";

/**
 * Ids and target names end up in Redis key names, Docker labels and log lines, so they are
 * restricted to a lowercase ASCII alphabet: no `/`, no `.` (so no `..`), no whitespace, no control
 * characters and no Unicode look-alikes of a real target's name.
 */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const slug = (what: string) =>
  z
    .string()
    .max(63, `${what} is at most 63 characters`)
    .regex(
      SLUG_PATTERN,
      `${what} must be a slug: lowercase a-z, 0-9, '-' or '_', starting with a letter or digit`,
    );

export const agentId = slug("agent_id");
export const targetName = slug("target_agent");
