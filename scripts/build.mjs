// Bundles the CLI (cli/main.ts and everything it imports from shared/, edge/, bridge/) into
// dist/cli.mjs. Dependencies stay external: they are installed next to it by npm.
// Also bundles it with its dependencies into dist/image/cli.mjs, for the Docker images.
// Files are written under a temporary name and renamed, so a `hypercode` that is running while
// the build runs (tests do this) never reads half a file.
import { cpSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const writeAtomically = (outputFiles) => {
  for (const file of outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
};

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
  writeAtomically(result.outputFiles);
};

/**
 * The CLI again, this time WITH its dependencies, for the Docker images (docker/Dockerfile copies
 * dist/image/ and runs it through docker/hypercode.mjs): an image then needs no node_modules and
 * no `npm ci` inside `docker build` (containers cannot reach a registry on every machine that
 * builds these images), and holds only node and a few files. Left out: ssh2's optional native
 * addons (`*.node`, cpu-features); ssh2 falls back to pure JS, and only an ssh:// DOCKER_HOST
 * uses it. CommonJS dependencies call require() and read __dirname: the banner gives them both.
 */
export const buildImageBundle = async () => {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["cli/main.ts"],
    outfile: "dist/image/cli.mjs",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["*.node", "cpu-features"],
    define: { __dirname: "__hcDirname", __filename: "__hcFilename" },
    banner: {
      js: [
        'import { createRequire as __hcRequire } from "node:module";',
        'import { dirname as __hcDir } from "node:path";',
        'import { fileURLToPath as __hcPath } from "node:url";',
        "const require = __hcRequire(import.meta.url);",
        "const __hcFilename = __hcPath(import.meta.url);",
        "const __hcDirname = __hcDir(__hcFilename);",
      ].join(" "),
    },
    legalComments: "none",
    write: false,
    logLevel: "warning",
  });
  writeAtomically(result.outputFiles);
  // Read at run time from __dirname/proto by dockerode's BuildKit session and trace decoder: a
  // bundle without them crashes the runner on its first BuildKit build.
  const dockerode = dirname(createRequire(import.meta.url).resolve("dockerode/package.json"));
  cpSync(join(dockerode, "lib", "proto"), join(root, "dist", "image", "proto"), { recursive: true });
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildCli();
  await buildImageBundle();
}
