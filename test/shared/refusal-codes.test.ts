import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SCRIPT_REFUSALS } from "../../shared/protocol/index.js";

const LUA = join(import.meta.dirname, "..", "..", "shared", "lua");
const read = (path: string) => readFileSync(path, "utf8");

/** The codes a script's source can refuse with: its `fail('code')`s, and its includes' refusals it passes on. */
const codesOf = (source: string): string[] => {
  const codes = new Set([...source.matchAll(/\bfail\('([a-z_]+)'/g)].map((m) => m[1] as string));
  // `fail(err, …)` passes on what an included loader answered (`return 'code'` in the include).
  if (/\bfail\(err\b/.test(source)) {
    for (const [, include] of source.matchAll(/^-- @include (\w+)$/gm)) {
      const text = read(join(LUA, "include", `${include}.lua`));
      for (const m of text.matchAll(/return '([a-z_]+)'/g)) codes.add(m[1] as string);
    }
  }
  return [...codes].sort();
};

describe("refusal codes", () => {
  const scripts = readdirSync(LUA)
    .filter((f) => f.endsWith(".lua"))
    .map((f) => f.slice(0, -4));

  it("lists every script, and no script that does not exist", () => {
    expect(Object.keys(SCRIPT_REFUSALS).sort()).toEqual(scripts.sort());
  });

  it.each(scripts)("%s: the union holds exactly the codes the script can return", (name) => {
    const listed = [...(SCRIPT_REFUSALS[name as keyof typeof SCRIPT_REFUSALS] ?? [])].sort();
    expect(listed).toEqual(codesOf(read(join(LUA, `${name}.lua`))));
  });
});
