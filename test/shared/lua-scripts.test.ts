import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generate } from "../../scripts/embed-lua.mjs";
import { SCRIPTS } from "../../shared/lua/scripts.generated.js";
import { testClient } from "../support/redis.js";

const LUA_DIR = join(import.meta.dirname, "..", "..", "shared", "lua");
const luaFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".lua"))
    .map((f) => join(dir, f));

/** The comment block a file opens with, without the `-- ` markers. */
const header = (text: string): string[] => {
  const lines = text.split("\n");
  const end = lines.findIndex((l) => !l.startsWith("--"));
  return lines.slice(0, end === -1 ? lines.length : end).map((l) => l.replace(/^--\s?/, ""));
};

describe("embedded Lua scripts", () => {
  const client = testClient();
  afterAll(() => client.disconnect());

  it.each(Object.values(SCRIPTS))("SCRIPT LOAD of $name returns its stored sha1", async (script) => {
    expect(await client.script("LOAD", script.source)).toBe(script.sha1);
  });

  it("the generated file is what scripts/embed-lua.mjs makes of the .lua files now", () => {
    const committed = readFileSync(join(LUA_DIR, "scripts.generated.ts"), "utf8");
    // toBe prints a diff; the hint says how to fix it.
    expect(committed, "shared/lua/scripts.generated.ts is stale: run `npm run build`").toBe(generate());
  });

  it.each(luaFiles(LUA_DIR))("%s opens with a header naming it, its KEYS and its reply", (file) => {
    const name = file.slice(LUA_DIR.length + 1, -".lua".length);
    const lines = header(readFileSync(file, "utf8"));
    expect(lines[0], "the first line is `-- <name>: what it does`").toMatch(new RegExp(`^${name}: \\S`));
    expect(lines.join("\n")).toMatch(/KEYS\[1\]/);
    expect(lines.join("\n")).toMatch(/Returns /);
  });

  it.each(luaFiles(join(LUA_DIR, "include")))("%s opens with a comment saying what it is for", (file) => {
    expect(header(readFileSync(file, "utf8")).join(" ").length).toBeGreaterThan(20);
  });
});
