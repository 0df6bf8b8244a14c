import { type Command, expectPositionals, parseCommandLine } from "../command.js";
import { EXIT } from "../errors.js";
import { INTAKE_ENV_HELP, intakeClientFrom } from "../intake-client.js";
import { printable } from "../printable.js";
import { formatTable } from "../table.js";

export const targetsCommand: Command = {
  words: ["targets"],
  summary: "list the targets and actions this agent's key may request now",
  help: `Usage: hypercode targets [--json]

Lists the targets a runner serves right now that this agent's key may change, with the actions
it may request of each (its scope and the target's own, both), replicas and current revision.

Options:
  --json      print the intake's answer (GET /v1/targets) as one JSON object
  -h, --help  show this help

Exit codes: 0 listed (even if empty); 1 refused (wrong key) or intake unreachable; 2 invalid options.

${INTAKE_ENV_HELP}`,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandLine("targets", argv, {
      json: { type: "boolean", default: false },
    });
    expectPositionals("targets", positionals, []);
    const view = await intakeClientFrom(ctx.env).targets();
    if (values.json) {
      ctx.out(JSON.stringify(view));
      return EXIT.ok;
    }
    // The intake answers with what its Redis holds: shown printable, like the table below.
    const scope = printable(
      `Agent '${view.agent_id}' may request ${view.scope.actions.join(", ")} on ${view.scope.targets.join(", ")}.`,
    );
    if (view.targets.length === 0) {
      ctx.out(`${scope}\nNo target in this scope is served by a runner right now.`);
      return EXIT.ok;
    }
    ctx.out(
      `${scope}\n\n${formatTable([
        ["TARGET", "ACTIONS", "REPLICAS", "REVISION"],
        ...view.targets.map((t) => [
          t.target,
          t.actions.length > 0 ? t.actions.join(",") : "(none for this key)",
          t.replicas === null ? "-" : String(t.replicas),
          t.revision ?? "-",
        ]),
      ])}`,
    );
    return EXIT.ok;
  },
};
