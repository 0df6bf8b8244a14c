import * as z from "zod";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

const DURATION = /^(\d+)(ms|s|sec|m|min|h|hour|d|day)$/;
const RATE = /^(\d+)\/(\d*)(ms|s|sec|m|min|h|hour|d|day)$/;

/** `1500ms`, `30s`, `5m`, `24h`, `7d` → milliseconds; undefined if it is not one. */
export const parseDuration = (text: string): number | undefined => {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return ms > 0 ? ms : undefined;
};

export interface Rate {
  limit: number;
  windowMs: number;
}

/** `30/min`, `10/hour`, `5/30s` → { limit, windowMs }; undefined if it is not one. */
export const parseRate = (text: string): Rate | undefined => {
  const m = RATE.exec(text.trim());
  if (!m) return undefined;
  const limit = Number(m[1]);
  const windowMs = Number(m[2] || "1") * (UNIT_MS[m[3] as string] as number);
  return limit > 0 && windowMs > 0 && Number.isSafeInteger(limit) ? { limit, windowMs } : undefined;
};

export const formatRate = ({ limit, windowMs }: Rate): string => {
  for (const [unit, ms] of [
    ["day", 86_400_000],
    ["hour", 3_600_000],
    ["min", 60_000],
    ["s", 1000],
  ] as const) {
    if (windowMs % ms === 0) return `${limit}/${windowMs === ms ? "" : windowMs / ms}${unit}`;
  }
  return `${limit}/${windowMs}ms`;
};

/** A string schema that parses with `parse`, or reports `hint` as the problem. */
const parsed = <T>(parse: (v: string) => T | undefined, hint: string) =>
  z.string().transform((v, ctx) => {
    const out = parse(v);
    if (out === undefined) {
      ctx.addIssue(`'${v}' is not ${hint}`);
      return z.NEVER;
    }
    return out;
  });

export const durationSchema = parsed(parseDuration, "a duration such as 30s, 5m, 24h");
export const rateSchema = parsed(parseRate, "a rate such as 30/min or 10/hour");

/** Turns zod issues about an env object into one line per variable, for a clean exit at start. */
export const describeConfigError = (error: z.ZodError): string =>
  error.issues.map((i) => `  ${i.path.join(".") || "(config)"}: ${i.message}`).join("\n");
