import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import type { Section, Settings } from "../section.js";

const run = promisify(execFile);
const KiB = 1024;
const gz = (b: Buffer | Uint8Array) => gzipSync(b, { level: 9 }).length;

/** esbuild as wrangler bundles for workerd (minified, ESM), with a metafile to see who weighs what. */
const bundle = async (entry: string) => {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["node:*", "cloudflare:*"],
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const code = r.outputFiles[0]?.contents ?? new Uint8Array();
  const byPackage = new Map<string, number>();
  for (const out of Object.values(r.metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(out.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const name = m ? (m[1] as string) : (path.split("/")[0] ?? path);
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  return { raw: code.length, gzip: gz(code), byPackage };
};

/** Section 5: the Worker as `wrangler deploy --dry-run` builds it, gzipped, next to a bare Hono Worker. */
export const bundleSection = async (_s: Settings): Promise<Section> => {
  const dir = mkdtempSync(join(tmpdir(), "hc-bench-worker-"));
  try {
    await run("npx", ["wrangler", "deploy", "--dry-run", "--outdir", dir], {
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
      maxBuffer: 1 << 22,
    });
    const js = readdirSync(dir).filter((f) => f.endsWith(".js") || f.endsWith(".mjs"));
    if (js.length === 0) throw new Error(`wrangler wrote no bundle into ${dir}`);
    const files = js.map((f) => readFileSync(join(dir, f)));
    const raw = files.reduce((a, b) => a + b.length, 0);
    const gzip = files.reduce((a, b) => a + gz(b), 0);

    const bare = join(dir, "bare-hono.ts");
    writeFileSync(
      bare,
      `import { Hono } from "${process.cwd()}/node_modules/hono/dist/index.js";\nconst app = new Hono();\napp.post("/v1/improvements", async (c) => c.json(await c.req.json(), 202));\nexport default app;\n`,
    );
    const baseline = await bundle(bare);
    const ours = await bundle("edge/workers/index.ts");
    const heaviest = [...ours.byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6);
    const met = gzip < 100 * KiB;
    return {
      title: "5. Workers bundle",
      body: [
        "`npx wrangler deploy --dry-run --outdir <tmp>` (minify on, as wrangler.toml says), each output `.js` gzipped at level 9.",
        "",
        "| bundle | raw KiB | gzip -9 KiB |",
        "|---|---|---|",
        `| the Worker (wrangler) | ${(raw / KiB).toFixed(1)} | **${(gzip / KiB).toFixed(1)}** |`,
        `| the Worker (esbuild, same settings as below) | ${(ours.raw / KiB).toFixed(1)} | ${(ours.gzip / KiB).toFixed(1)} |`,
        `| bare Hono JSON POST Worker (esbuild, baseline) | ${(baseline.raw / KiB).toFixed(1)} | ${(baseline.gzip / KiB).toFixed(1)} |`,
        "",
        `- Worker / bare Hono Worker (gzip): ${(ours.gzip / baseline.gzip).toFixed(1)}×. Target < 100 KiB gzipped: ${met ? "met" : "**missed**"}.`,
        `- Heaviest parts of the minified bundle (bytes before gzip): ${heaviest.map(([n, b]) => `${n} ${(b / KiB).toFixed(1)} KiB`).join(", ")}.`,
      ].join("\n"),
      targets: [{ name: "Worker < 100 KiB gzipped", figure: `${(gzip / KiB).toFixed(1)} KiB`, met }],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
