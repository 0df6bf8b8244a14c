import { printable } from "./printable.js";

/**
 * Left-aligned columns separated by two spaces; the first row is the header. Every cell is made
 * printable: tables show what Redis and agents wrote (dead letters, agents, targets).
 */
export const formatTable = (rows: readonly (readonly string[])[]): string => {
  const shown = rows.map((row) => row.map((cell) => printable(cell)));
  const widths: number[] = [];
  for (const row of shown) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return shown
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
};
