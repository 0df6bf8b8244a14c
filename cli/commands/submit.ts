import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { IDEMPOTENCY_KEY } from "../../shared/protocol/http.js";
import { ACTIONS, IMPROVEMENT_TYPES } from "../../shared/protocol/index.js";
import { type Command, type Context, expectPositionals, parseCommandLine } from "../command.js";
import { EXIT, UsageError } from "../errors.js";
import { describeEnding, exitCodeFor, followRequest, formatTransition } from "../follow.js";
import { INTAKE_ENV_HELP, IntakeUnreachableError, intakeClientFrom } from "../intake-client.js";
import { printable } from "../printable.js";
import { readBounded } from "../read-bounded.js";
import { buildSubmission, DEFAULT_TYPE, submissionFromBody } from "../submission.js";

// No intake accepts a larger body (MAX_BODY_BYTES is at most 1 MiB): refuse it before reading on.
const MAX_BODY_BYTES = 1024 * 1024;

/** The text `--body <file|->` names: a file, or standard input for `-`. */
const readBody = async (source: string, ctx: Context): Promise<string> => {
  const from = source === "-" ? "standard input" : `'${printable(source)}'`;
  let text: string | undefined;
  try {
    text =
      source === "-"
        ? await ctx.readStdin(MAX_BODY_BYTES)
        : await readBounded(createReadStream(source), MAX_BODY_BYTES);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason =
      e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "it is a directory" : e.message;
    throw new UsageError(`--body: cannot read ${from}: ${printable(reason)}`, "submit");
  }
  if (text === undefined)
    throw new UsageError(`--body: ${from} is larger than 1 MiB, more than any intake accepts`, "submit");
  return text;
};

export const submitCommand: Command = {
  words: ["submit"],
  summary: "submit an improvement request as an agent (HYPERCODE_KEY); --wait follows it to its end",
  help: `Usage: hypercode submit --target <target> --action <action> [options]
       hypercode submit --body <file|-> [--idempotency-key <key>] [--wait] [--json]

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
  --id <id>                the request id to use instead of a new one (a uuid4 fits); the same id
                           names one request for good, so submitting it again runs nothing new
  --priority <p>           1 to 5 (1 low, 5 critical) or low, normal, high; 1-2 is low, 3 normal,
                           4-5 high, and the word is what is stored
  --file <path>            a file the change touched, for the record (repeatable, at most 256; only
                           the name is sent)
  --test-results <json>    a JSON object with the change's test results (or null), at most 16 KiB
  --body <file|->          the whole request as JSON, from a file or standard input (-): the body of
                           POST /v1/improvements, e.g. an upstream HyperCode agent's
                           ImprovementRequest.model_dump_json(). The options above describe the
                           request too, so they are refused beside it rather than merged into it;
                           --idempotency-key, --wait and --json apply as usual
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
      type: { type: "string" },
      description: { type: "string" },
      "build-arg": { type: "string", multiple: true, default: [] },
      "no-cache": { type: "boolean", default: false },
      env: { type: "string", multiple: true, default: [] },
      "unset-env": { type: "string", multiple: true, default: [] },
      image: { type: "string" },
      revision: { type: "string" },
      replicas: { type: "string" },
      id: { type: "string" },
      priority: { type: "string" },
      file: { type: "string", multiple: true, default: [] },
      "test-results": { type: "string" },
      body: { type: "string" },
      "idempotency-key": { type: "string" },
      wait: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    });
    expectPositionals("submit", positionals, []);
    const flags = {
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
      id: values.id,
      priority: values.priority,
      files: values.file,
      testResults: values["test-results"],
    };
    const body =
      values.body === undefined
        ? buildSubmission(flags)
        : await submissionFromBody(flags, () => readBody(values.body as string, ctx));
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
    else ctx.out(printable(accepted.request_id));
    if (replayed && !values.json) {
      ctx.err(
        `hypercode: this Idempotency-Key was used before: that earlier request's id is shown, nothing new was submitted.`,
      );
    }
    if (!values.wait) {
      if (!values.json)
        ctx.err(
          printable(`hypercode: queued. Follow it with: ${ctx.invocation} watch ${accepted.request_id}`),
        );
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
