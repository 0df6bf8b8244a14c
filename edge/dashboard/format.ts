/** How the dashboard writes times and durations: short, and the same on every runtime. */

export const formatDuration = (ms: number | null): string => {
  if (ms === null) return "–";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${Math.floor(s % 60)} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} m` : `${Math.floor(h / 24)} d ${h % 24} h`;
};

/** "4 s ago", from the server's clock, refreshed with every update. */
export const formatAgo = (iso: string | null, now: number): string => {
  const t = iso ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(t)) return "–";
  const s = Math.floor(Math.max(0, now - t) / 1000);
  if (s < 1) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} m ago`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
};

/** `2030-01-02T03:04:05.678Z` → `03:04:05` (UTC), the rest in the element's title. */
export const formatClock = (iso: string): string => /T(\d\d:\d\d:\d\d)/.exec(iso)?.[1] ?? iso;
