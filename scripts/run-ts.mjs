// Runs a TypeScript entry file with Node: bundles it with esbuild (dependencies stay external)
// into a temporary module next to node_modules, then imports it. For scripts and benchmarks,
// which should run what ships (plain Node), not a test runner's transform.
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node scripts/run-ts.mjs <file.ts> [args...]");
  process.exit(2);
}
const dir = mkdtempSync(join(resolve("node_modules"), ".run-ts-"));
const outfile = join(dir, "entry.mjs");
await build({
  entryPoints: [entry],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  outfile,
  sourcemap: "inline",
  // Prose (bench/notes/*.md) is embedded as text, not kept as string literals in code.
  loader: { ".md": "text" },
  logLevel: "error",
});
process.argv = [process.argv[0], entry, ...rest];
const cleanup = () => rmSync(dir, { recursive: true, force: true });
process.once("exit", cleanup);
await import(pathToFileURL(outfile).href);
