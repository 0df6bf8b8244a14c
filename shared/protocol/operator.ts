import * as z from "zod";
import { slug } from "./slug.js";

/**
 * Operators sign in to the dashboard with keys of their own (`hco1.`), stored like agent keys:
 * only the SHA-256, one record per id, revocable at once.
 */
export const operatorId = slug("operator_id");

/** An operator as `operators list` shows it; the key itself is never stored. */
export const operatorRecord = z.object({
  operator_id: operatorId,
  created_at: z.string(),
  revoked_at: z.string().optional(),
});
export type OperatorRecord = z.infer<typeof operatorRecord>;
