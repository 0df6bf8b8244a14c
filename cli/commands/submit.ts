import { randomUUID } from "node:crypto";
import { IDEMPOTENCY_KEY } from "../../edge/routes/improvements.js";
import { ACTIONS, IMPROVEMENT_TYPES } from "../../shared/protocol/index.js";
import { type Command, expectPositionals, parseCommandLine } from "../command.js";
import { EXIT, UsageError } from "../errors.js";
import { describeEnding, exitCodeFor, followRequest, formatTransition } from "../follow.js";
import { INTAKE_ENV_HELP, IntakeUnreachableError, intakeClientFrom } from "../intake-client.js";
import { buildSubmission } from "../submission.js";

const DEFAULT_TYPE = "performance";

export const submitCommand: Command = {
  words: ["submit"],
  summary: "submit an improvement request as an agent (HYPERCODE_KEY); --wait follows it to its end",
  help: `Usage: hypercode submit --target <target> --action <action> [options]

Submits an improvement request to the intake as the agent whose key is in HYPERCODE_KEY, and
prints its request id. The request is first checked here with the intake's own schema, so a
mistake is reported (exit 2) before anything is sent.

Options:
  --target <target>        the service to change (required)
  --action <action>        ${ACTIONS.join(", ")} (required)
  --type <type>            ${IMPROVEMENT_TYPES.join(", ")}
                           (default ${DEFAULT_TYPE})
  --description <text>     why; the audit trail shows it (default "<action> <target> (hypercode submit)")
  --build-arg NAME=VALUE   rebuild: a build argument (repeatable)
  --no-cache               rebuild: build without the layer cache
  --env NAME=VALUE         update_config: set a variable (repeatable)
  --unset-env NAME         update_config: remove a variable (repeatable)
  --image <ref>            redeploy: the image to run instead of the target's own
  --revision <id>          rollback: a revision from the target's history (default: the runner picks
                           the last known-good one)
  --replicas <n>           scale: how many containers, 1 to 32 (required with --action scale)
  --idempotency-key <key>  the Idempotency-Key to send (default: a new random UUID)
  --wait                   follow the request to its end; exit 0 only if it succeeded
  --json                   print the intake's answer (202 body) as JSON; with --wait, then one JSON
                           line per transition
  -h, --help               show this help

Idempotency: every submission carries an Idempotency-Key, a fresh UUID unless --idempotency-key
is given. The CLI's own retries (after a network error or a 502/503/504 answer) send the same key,
so they can never submit twice. To make retrying the whole command safe (from a script, after a
crash or a timeout), pass the same --idempotency-key each time: the intake answers a repeat with
the first request's id, and submits nothing new.

Output: the request id alone on stdout, so id=$(hypercode submit ...) works; with --wait, one
line per transition on stderr. With --json, everything is JSON lines on stdout.

Exit codes:
  0  accepted; with --wait: succeeded (or coalesced into a request that succeeded, or that this
     key cannot read)
  1  refused by the intake (the message says why and what to do), or the intake is unreachable
  2  invalid options: nothing was sent
  3  with --wait: the request ended failed, rolled_back, rejected or dead_lettered

${INTAKE_ENV_HELP}`,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandLine("submit", argv, {
      target: { type: "string" },
      action: { type: "string" },
      type: { type: "string", default: DEFAULT_TYPE },
      description: { type: "string" },
      "build-arg": { type: "string", multiple: true, default: [] },
      "no-cache": { type: "boolean", default: false },
      env: { type: "string", multiple: true, default: [] },
      "unset-env": { type: "string", multiple: true, default: [] },
      image: { type: "string" },
      revision: { type: "string" },
      replicas: { type: "string" },
      "idempotency-key": { type: "string" },
      wait: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    });
    expectPositionals("submit", positionals, []);
    const body = buildSubmission({
      target: values.target,
      action: values.action,
      type: values.type,
      description: values.description,
      buildArgs: values["build-arg"],
      noCache: values["no-cache"],
      env: values.env,
      unsetEnv: values["unset-env"],
      image: values.image,
      revision: values.revision,
      replicas: values.replicas,
    });
    const idempotencyKey = values["idempotency-key"] ?? randomUUID();
    if (!IDEMPOTENCY_KEY.test(idempotencyKey))
      throw new UsageError(
        "--idempotency-key must be 1 to 255 printable ASCII characters, no spaces",
        "submit",
      );
    const client = intakeClientFrom(ctx.env);

    let submitted: Awaited<ReturnType<typeof client.submit>>;
    try {
      submitted = await client.submit(body, idempotencyKey);
    } catch (err) {
      if (err instanceof IntakeUnreachableError && err.maybeDelivered) {
        ctx.err(
          `hypercode: ${err.message}\nThe request may have been accepted before the connection failed: run the same command with --idempotency-key ${idempotencyKey} to find out without submitting twice.`,
        );
        return EXIT.failed;
      }
      throw err;
    }
    const { accepted, replayed } = submitted;
    if (values.json) ctx.out(JSON.stringify(accepted));
    else ctx.out(accepted.request_id);
    if (replayed && !values.json) {
      ctx.err(
        `hypercode: this Idempotency-Key was used before: that earlier request's id is shown, nothing new was submitted.`,
      );
    }
    if (!values.wait) {
      if (!values.json)
        ctx.err(`hypercode: queued. Follow it with: ${ctx.invocation} watch ${accepted.request_id}`);
      return EXIT.ok;
    }

    const ending = await followRequest(client, accepted.request_id, {
      onTransition: (t) => (values.json ? ctx.out(JSON.stringify(t)) : ctx.err(formatTransition(t))),
      onNote: (text) => ctx.err(`hypercode: ${text}`),
    });
    const code = exitCodeFor(ending.state);
    if (code !== EXIT.ok) ctx.err(`hypercode: ${describeEnding(ending)}`);
    return code;
  },
};
