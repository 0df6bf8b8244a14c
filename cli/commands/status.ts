import type { StatusView } from "../../edge/openapi/schemas.js";
import { type Command, expectPositionals, parseCommandLine } from "../command.js";
import { EXIT } from "../errors.js";
import { describeEnding, exitCodeFor, followRequest, formatTransition } from "../follow.js";
import { INTAKE_ENV_HELP, intakeClientFrom } from "../intake-client.js";

const FOLLOW_EXIT_HELP = `Exit codes:
  0  succeeded (or coalesced into a request that succeeded, or that this key cannot read)
  1  the intake refused (wrong key, no such request for this agent) or is unreachable
  2  invalid options
  3  the request ended failed, rolled_back, rejected or dead_lettered`;

/** `label   value`, with a multi-line value indented under its first line. */
const field = (label: string, value: string): string =>
  `${label.padEnd(12)}${value.replace(/\n/g, `\n${" ".repeat(12)}`)}`;

const describeStatus = (v: StatusView): string => {
  const request = v.request ?? {};
  const lines = [
    field("request", v.request_id),
    field("state", v.status),
    field("target", v.target_agent),
    field("action", v.action),
    field("agent", v.agent_id),
  ];
  if (typeof request.description === "string") lines.push(field("description", request.description));
  if (request.payload !== undefined) lines.push(field("payload", JSON.stringify(request.payload)));
  if (v.detail) lines.push(field("detail", v.detail));
  lines.push(field("created", v.created_at), field("updated", v.updated_at));
  // What the runner recorded (revision, image, health_log, coalesced_into...), in a stable order.
  for (const [k, value] of Object.entries(v.result).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(field(k, value));
  }
  lines.push("timeline", ...v.timeline.map((t) => `  ${formatTransition({ ...t, status: t.state })}`));
  return lines.join("\n");
};

const statusCommand: Command = {
  words: ["status"],
  summary: "show a request's state, target, action, detail and timeline (as its agent)",
  help: `Usage: hypercode status <request_id> [--json]

Shows one of this agent's requests as the intake has it: state, target, action, detail, what the
runner recorded (revision, image, ...) and the timeline of every transition. An agent sees only
its own requests. Exits 0 whatever the request's state; 'hypercode watch' waits for the end.

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
