import { createHash } from "node:crypto";

/**
 * The engine reports "nothing" as null, [], {}, "", false, 0 or an absent key depending on the
 * field and the version (`PidsLimit: 0` and `null` both mean unlimited); comparisons of
 * configurations must not see a difference there.
 */
const normalise = (v: unknown): unknown => {
  if (v === null || v === undefined || v === "" || v === false || v === 0) return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(normalise);
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => [k, normalise(x)] as const)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return v;
};

/** Stable JSON: keys sorted, empties dropped. */
export const stableJson = (v: unknown): string => JSON.stringify(normalise(v)) ?? "null";

export const same = (a: unknown, b: unknown): boolean => stableJson(a) === stableJson(b);

export const shortHash = (v: unknown, length = 16): string =>
  createHash("sha256")
    .update(typeof v === "string" ? v : stableJson(v))
    .digest("hex")
    .slice(0, length);
