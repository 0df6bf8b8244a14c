import type { StatusView } from "../../shared/protocol/http.js";
import { type Command, expectPositionals, parseCommandLine } from "../command.js";
import { EXIT } from "../errors.js";
import { describeEnding, exitCodeFor, followRequest, formatTransition } from "../follow.js";
import { INTAKE_ENV_HELP, intakeClientFrom } from "../intake-client.js";
import { clip, printable } from "../printable.js";

const FOLLOW_EXIT_HELP = `Exit codes:
  0  succeeded (or coalesced into a request that succeeded, or that this key cannot read)
  1  the intake refused (wrong key, no such request for this agent) or is unreachable
  2  invalid options
  3  the request ended failed, rolled_back, rejected or dead_lettered`;

/** How many changed files `status` lists before it only counts the rest. */
const MAX_FILES_SHOWN = 20;
/** How much of the test results `status` shows; --json has them whole. */
const MAX_TEST_RESULTS_CHARS = 600;

const LABEL_WIDTH = 14;

/**
 * `label   value`, with a multi-line value indented under its first line, so no value can pass for
 * a line of its own; every control character is escaped (what agents write is printed here).
 */
const field = (label: string, value: string): string =>
  `${label.padEnd(LABEL_WIDTH)}${printable(value, { newlines: true }).replace(/\n/g, `\n${" ".repeat(LABEL_WIDTH)}`)}`;

const filesLines = (files: readonly unknown[]): string => {
  const names = files.slice(0, MAX_FILES_SHOWN).map((f) => printable(String(f)));
  const more = files.length - names.length;
  return [...names, ...(more > 0 ? [`… and ${more} more (--json lists them all)`] : [])].join("\n");
};

const describeStatus = (v: StatusView): string => {
  const request = v.request ?? {};
  const lines = [
    field("request", v.request_id),
    field("state", `${v.status} (evolution status: ${v.evolution_status})`),
    field("target", v.target_agent),
    field("action", v.action),
    field("agent", v.agent_id),
  ];
  if (typeof request.priority === "string") lines.push(field("priority", request.priority));
  if (typeof request.timestamp === "string")
    lines.push(field("agent time", `${request.timestamp} (the agent's own clock)`));
  if (typeof request.description === "string") lines.push(field("description", request.description));
  if (request.payload !== undefined) lines.push(field("payload", JSON.stringify(request.payload)));
  if (Array.isArray(request.files_changed) && request.files_changed.length > 0)
    lines.push(field("files", filesLines(request.files_changed)));
  if (request.test_results !== undefined && request.test_results !== null)
    lines.push(field("test results", clip(JSON.stringify(request.test_results), MAX_TEST_RESULTS_CHARS)));
  if (v.detail) lines.push(field("detail", v.detail));
  lines.push(field("created", v.created_at), field("updated", v.updated_at));
  // What the runner recorded (revision, image, health_log, coalesced_into...), in a stable order.
  for (const [k, value] of Object.entries(v.result).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(field(printable(k), value));
  }
  lines.push("timeline", ...v.timeline.map((t) => `  ${formatTransition({ ...t, status: t.state })}`));
  return lines.join("\n");
};

const statusCommand: Command = {
  words: ["status"],
  summary: "show a request's state, target, action, files, test results and timeline (as its agent)",
  help: `Usage: hypercode status <request_id> [--json]

Shows one of this agent's requests as the intake has it: state (and the same in the original
HyperCode system's words, its EvolutionStatus), target, action, priority, the agent's own
timestamp, description, payload, the files changed (the first ${MAX_FILES_SHOWN}), the test results
(the first ${MAX_TEST_RESULTS_CHARS} characters), detail, what the runner recorded (revision, image, ...)
and the timeline of every transition. Control characters in what agents and runners wrote are
shown escaped (\\x1b). An agent sees only its own requests. Exits 0 whatever the request's
state; 'hypercode watch' waits for the end.

Options:
  --json      print the intake's answer (GET /v1/improvements/<id>) as one JSON object
  -h, --help  show this help

Exit codes: 0 shown; 1 refused (wrong key, no such request for this agent) or intake unreachable;
2 invalid options.

${INTAKE_ENV_HELP}`,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandLine("status", argv, {
      json: { type: "boolean", default: false },
    });
    const [id] = expectPositionals("status", positionals, ["request_id"]) as [string];
    const view = await intakeClientFrom(ctx.env).status(id);
    ctx.out(values.json ? JSON.stringify(view) : describeStatus(view));
    return EXIT.ok;
  },
};

const watchCommand: Command = {
  words: ["watch"],
  summary: "follow a request live, one line per transition, until it ends (exit 3 if it failed)",
  help: `Usage: hypercode watch <request_id> [--json]

Follows one of this agent's requests through the intake's live feed (Server-Sent Events): its
timeline so far, then one line per transition as it happens, until it ends. When the feed closes
early (the intake's FEED_MAX, or a dropped connection), it resumes where it stopped, with
Last-Event-ID: nothing is missed or shown twice. A request coalesced into another is followed
into that one when this key may read it.

Options:
  --json      one JSON object per transition ({request_id, status, at, detail}) instead of text
  -h, --help  show this help

${FOLLOW_EXIT_HELP}

${INTAKE_ENV_HELP}`,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandLine("watch", argv, {
      json: { type: "boolean", default: false },
    });
    const [id] = expectPositionals("watch", positionals, ["request_id"]) as [string];
    const ending = await followRequest(intakeClientFrom(ctx.env), id, {
      onTransition: (t) => ctx.out(values.json ? JSON.stringify(t) : formatTransition(t)),
      onNote: (text) => ctx.err(`hypercode: ${text}`),
    });
    const code = exitCodeFor(ending.state);
    if (code !== EXIT.ok) ctx.err(`hypercode: ${describeEnding(ending)}`);
    return code;
  },
};

export const statusCommands: readonly Command[] = [statusCommand, watchCommand];
