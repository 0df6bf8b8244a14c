#!/usr/bin/env node
// The CLI itself is dist/cli.mjs, bundled from cli/main.ts by `npm run build` (which `npm install` runs).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = new URL("../dist/cli.mjs", import.meta.url);
if (!existsSync(fileURLToPath(bundle))) {
  process.stderr.write(
    `hypercode: ${fileURLToPath(bundle)} is missing: run \`npm run build\` in ${fileURLToPath(new URL("..", import.meta.url))}\n`,
  );
  process.exit(1);
}
process.setSourceMapsEnabled(true);
const { main } = await import(bundle.href);
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Every command closes what it opened, so the process ends by itself; if a stray handle kept it
// alive, it would hang a script that called us. This timer does not keep the process alive itself.
setTimeout(() => process.exit(code), 2000).unref();
