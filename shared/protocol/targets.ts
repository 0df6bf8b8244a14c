import * as z from "zod";
import { actionName } from "./payload.js";
import { targetName } from "./slug.js";

/**
 * What a runner publishes about a target it serves, into the `targets` hash (field: target name,
 * value: this as JSON). The intake refuses targets that are absent or whose entry has expired, so
 * a runner that stops publishing stops receiving work.
 */
export const publishedTarget = z.object({
  target: targetName,
  actions: z.array(actionName),
  runner_id: z.string().max(128),
  expires_at: z.number().int(),
  /** A per-target change budget from the target's labels; the intake's default applies otherwise. */
  budget: z.object({ limit: z.number().int().positive(), window_ms: z.number().int().positive() }).optional(),
  replicas: z.number().int().nonnegative().optional(),
  revision: z.string().max(128).optional(),
});
export type PublishedTarget = z.infer<typeof publishedTarget>;
