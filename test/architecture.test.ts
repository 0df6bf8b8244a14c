import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );

/** Every relative module a file imports or re-exports, as a path from the repository root. */
const importsOf = (file: string): string[] =>
  [
    ...readFileSync(join(ROOT, file), "utf8").matchAll(
      /(?:^|\n)\s*(?:import|export)[^;]*?from\s+"(\.[^"]+)"/g,
    ),
  ].map((m) => relative(ROOT, resolve(ROOT, file, "..", m[1] as string)));

describe("who may import what", () => {
  it("the CLI, a client, imports only shared/, its own files and the process entries it starts", () => {
    const ENTRIES = new Set(["edge/node/server.js", "runner/main.js", "bridge/rest-bridge.js"]);
    const offending = sources("cli").flatMap((file) =>
      importsOf(file)
        .filter((to) => !to.startsWith("shared/") && !to.startsWith("cli/") && !ENTRIES.has(to))
        .map((to) => `${file} → ${to}`),
    );
    expect(offending).toEqual([]);
  });

  it("shared/ imports nothing of the parts built on it", () => {
    const offending = sources("shared").flatMap((file) =>
      importsOf(file)
        .filter((to) => !to.startsWith("shared/"))
        .map((to) => `${file} → ${to}`),
    );
    expect(offending).toEqual([]);
  });
});
