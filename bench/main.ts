import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeMachine, loadNow } from "./machine.js";
import { HOW_TO_RUN, NOTES } from "./notes.js";
import { FULL, QUICK, type Section, type Settings } from "./section.js";
import { bundleSection } from "./sections/bundle.js";
import { dispatchSection } from "./sections/dispatch.js";
import { intakeSection } from "./sections/intake.js";
import { rolloutSection } from "./sections/rollout.js";
import { scaleSection } from "./sections/scale.js";

const USAGE = `usage: npm run bench -- [--quick] [--only intake,dispatch,rollout,scale,bundle] [--out FILE]

Runs the benchmarks of issue 5 and writes BENCHMARKS.md (or FILE). --quick: short runs, fewer
samples, a smoke test of the harness (writes <tmpdir>/BENCHMARKS.quick.md unless --out is given).`;

const SECTIONS: Record<string, (s: Settings) => Promise<Section>> = {
  intake: intakeSection,
  dispatch: dispatchSection,
  rollout: rolloutSection,
  scale: scaleSection,
  bundle: bundleSection,
};

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : (args[i + 1] ?? "");
};
if (args.includes("--help")) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const settings = args.includes("--quick") ? QUICK : FULL;
const only = flag("--only")?.split(",") ?? Object.keys(SECTIONS);
const unknown = only.filter((n) => !(n in SECTIONS));
if (unknown.length > 0) {
  process.stderr.write(`unknown section(s): ${unknown.join(", ")}\n${USAGE}\n`);
  process.exit(2);
}
const out = flag("--out") ?? (settings.quick ? join(tmpdir(), "BENCHMARKS.quick.md") : "BENCHMARKS.md");

const started = new Date();
const header = describeMachine();
const results: Array<Section & { readonly name: string }> = [];
for (const name of only) {
  process.stderr.write(`[bench] ${name} (load ${loadNow()})...\n`);
  const t0 = Date.now();
  try {
    results.push({ name, ...(await (SECTIONS[name] as (s: Settings) => Promise<Section>)(settings)) });
  } catch (err) {
    results.push({
      name,
      title: name,
      body: `**The section failed:** \`${String((err as Error)?.stack ?? err)
        .split("\n")
        .slice(0, 4)
        .join(" | ")}\``,
      targets: [{ name, figure: "failed", met: false }],
    });
  }
  process.stderr.write(
    `[bench] ${name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s (load ${loadNow()})\n`,
  );
}

const md = [
  "# Benchmarks",
  "",
  `Written by \`npm run bench${settings.quick ? " -- --quick" : ""}\` on ${started.toISOString()} (took ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s; load average at the end: ${loadNow()}).`,
  "Absolute figures drift between machines; the headline figures are ratios against a baseline run in the same invocation, on loopback.",
  "",
  ...header,
  "",
  "## Targets",
  "",
  "| target | measured | met |",
  "|---|---|---|",
  ...results.flatMap((r) =>
    r.targets.map((t) => `| ${t.name} | ${t.figure} | ${t.met ? "yes" : "**no**"} |`),
  ),
  "",
  ...results.flatMap((r) => [`## ${r.title}`, "", r.body, "", ...(NOTES[r.name] ? [NOTES[r.name], ""] : [])]),
  HOW_TO_RUN,
  "",
].join("\n");
writeFileSync(out, md);
process.stderr.write(`[bench] wrote ${out}\n`);
process.exit(0);
