import bundle from "./notes/bundle.md";
import dispatch from "./notes/dispatch.md";
import intake from "./notes/intake.md";
import rollout from "./notes/rollout.md";
import running from "./notes/running.md";
import scale from "./notes/scale.md";

/**
 * What the figures mean and what missing targets would take, written from the profiles and runs
 * (bench/notes/*.md, embedded as text when the bench is bundled). Kept beside the generated
 * figures so a rerun does not lose them; revise them when the code or the figures move.
 */
export const HOW_TO_RUN = running.trimEnd();

export const NOTES: Record<string, string> = Object.fromEntries(
  Object.entries({ intake, dispatch, rollout, scale, bundle }).map(([k, v]) => [k, v.trimEnd()]),
);
