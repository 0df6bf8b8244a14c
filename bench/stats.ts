/** Order statistics over a handful of runs or thousands of samples. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[at] as number;
};

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Median with the spread of the runs, e.g. `12 345 (11 900–12 600, n=5)`. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export const summarise = (values: readonly number[]): Summary => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
  n: values.length,
});

export const fmt = (v: number, digits = 0): string =>
  Number.isFinite(v)
    ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";

export const fmtSummary = (s: Summary, digits = 0, unit = ""): string =>
  `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)}, n=${s.n})`;

export const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : "n/a");
