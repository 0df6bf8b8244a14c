// Bundles the CLI (cli/main.ts and everything it imports from shared/, edge/, bridge/) into
// dist/cli.mjs. Dependencies stay external: they are installed next to it by npm.
// Files are written under a temporary name and renamed, so a `hypercode` that is running while
// the build runs (tests do this) never reads half a file.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export const buildCli = async () => {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["cli/main.ts"],
    outfile: "dist/cli.mjs",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    write: false,
    logLevel: "warning",
  });
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildCli();
}
