// Writes the JSON Schemas generated from the zod protocol into schema/, so agents in other
// languages can validate before they send. A test fails when the committed files are stale.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = await build({
  entryPoints: [join(root, "shared/protocol/json-schema.ts")],
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
});
const mod = await import(
  `data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString("base64")}`
);
mkdirSync(join(root, "schema"), { recursive: true });
const write = (name, schema) =>
  writeFileSync(join(root, "schema", name), `${JSON.stringify(schema, null, 2)}\n`);
write("improvement-submission.schema.json", mod.submissionJsonSchema());
write("improvement-stream-entry.schema.json", mod.streamEntryJsonSchema());
