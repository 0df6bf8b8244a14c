import * as z from "zod";

/**
 * A runner's liveness record, `hypercode:runners` field <runner_id> (JSON), written by each
 * runner every publish interval (runner/publish.ts) and read by the dashboard. It lives three
 * intervals (`expires_at`, ms), so a runner that stopped reporting drops out.
 */
export const runnerRecord = z.object({
  runner_id: z.string(),
  seen_at: z.string(),
  expires_at: z.number(),
  started_at: z.string().optional(),
  /** The entry the runner is carrying out now, if any. */
  in_hand: z.string().nullable().optional(),
  /** Entries the runner holds: in hand and waiting for a retry or a lock. */
  held: z.number().optional(),
  targets: z.array(z.string()).default([]),
});
export type RunnerRecord = z.input<typeof runnerRecord>;
