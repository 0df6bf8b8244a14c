/**
 * Exponential backoff with full jitter: a random wait between 0 and min(max, base * 2^(n-1)).
 * Full jitter spreads runners that failed together (say, when the Docker daemon restarted) across
 * the whole window instead of sending them back in step.
 */
export const backoffMs = (
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number => {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(random() * ceiling);
};
