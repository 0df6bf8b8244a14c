import { type Command, expectPositionals, parseCommandLine } from "../command.js";
import { readEnv } from "../env.js";
import { EXIT, UsageError } from "../errors.js";
import { addOperator, listOperators, operatorIdProblem, revokeOperator } from "../operators-store.js";
import { withRedis } from "../redis.js";
import { listTime, reportRevoke, storeEnv, storeEnvHelp } from "../store-env.js";
import { formatTable } from "../table.js";

const ENV_HELP = storeEnvHelp("intake");

/** The one positional, checked before Redis is touched. */
const operatorIdArg = (name: string, positionals: readonly string[]): string => {
  const [id] = expectPositionals(name, positionals, ["operator_id"]) as [string];
  const problem = operatorIdProblem(id);
  if (problem) throw new UsageError(problem, name);
  return id;
};

const add: Command = {
  words: ["operators", "add"],
  summary: "create an operator and print its dashboard key (once)",
  help: `Usage: hypercode operators add <operator_id> [--replace] [--json]

Creates an operator and prints its key, for signing in to the dashboard (/dashboard on the
intake). The key is shown once: only its SHA-256 is stored, so it cannot be shown again.
An operator key opens the dashboard and nothing else: it cannot submit requests, and an agent
key cannot open the dashboard.

Arguments:
  <operator_id>  lowercase a-z, 0-9, '-' or '_', starting with a letter or digit (at most 63)

Options:
  --replace      replace an operator that exists and is not revoked (its old key stops working)
  --json         print {"operator_id", "operator_key", "created_at", "replaced"} instead of text
  -h, --help     show this help

${ENV_HELP}
  HOST, PORT  the intake's address, used only in the printed dashboard URL (default 127.0.0.1:8787)`,
  async run(argv, ctx) {
    const name = "operators add";
    const { values, positionals } = parseCommandLine(name, argv, {
      replace: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    });
    const operatorId = operatorIdArg(name, positionals);
    const { url, k } = storeEnv(ctx);
    const { HOST, PORT } = readEnv(["HOST", "PORT"], ctx.env);
    const result = await withRedis(url, (redis) =>
      addOperator(redis, k, { operatorId, replace: values.replace }),
    );
    if (result.outcome === "exists") {
      ctx.err(
        `hypercode: operator '${operatorId}' already exists and is not revoked; nothing was changed.\n` +
          "Pass --replace to give it a new key (the old one stops working), or revoke it first.",
      );
      return EXIT.failed;
    }
    const { operator, operatorKey } = result;
    if (values.json) {
      ctx.out(
        JSON.stringify({ ...operator, operator_key: operatorKey, replaced: result.outcome === "replaced" }),
      );
      return EXIT.ok;
    }
    ctx.out(
      [
        `Operator '${operator.operator_id}' ${result.outcome}.`,
        "",
        "Operator key (shown this once: only its SHA-256 is stored, so it cannot be shown again; keep it secret):",
        "",
        `  ${operatorKey}`,
        "",
        `Sign in with it at http://${HOST}:${PORT}/dashboard`,
      ].join("\n"),
    );
    return EXIT.ok;
  },
};

const list: Command = {
  words: ["operators", "list"],
  summary: "list operators and whether they are revoked (never their keys)",
  help: `Usage: hypercode operators list [--json]

Lists every operator: id, when it was created and, if so, revoked. Keys are never shown.

Options:
  --json      print {"operators": [...]} instead of a table
  -h, --help  show this help

${ENV_HELP}`,
  async run(argv, ctx) {
    const name = "operators list";
    const { values, positionals } = parseCommandLine(name, argv, {
      json: { type: "boolean", default: false },
    });
    expectPositionals(name, positionals, []);
    const { url, k } = storeEnv(ctx);
    const operators = await withRedis(url, (redis) => listOperators(redis, k));
    if (values.json) {
      ctx.out(JSON.stringify({ operators }));
      return EXIT.ok;
    }
    if (operators.length === 0) {
      ctx.out(`No operators yet. Create one with: ${ctx.invocation} operators add <operator_id>`);
      return EXIT.ok;
    }
    ctx.out(
      formatTable([
        ["OPERATOR", "CREATED", "REVOKED"],
        ...operators.map((o) => [o.operator_id, listTime(o.created_at), listTime(o.revoked_at)]),
      ]),
    );
    return EXIT.ok;
  },
};

const revoke: Command = {
  words: ["operators", "revoke"],
  summary: "revoke an operator's key at once (signed-in dashboards sign out)",
  help: `Usage: hypercode operators revoke <operator_id>

Revokes the operator's key: a dashboard signed in with it returns to the sign-in form on its
next refresh. The record stays (shown as revoked by 'hypercode operators list');
'hypercode operators add <operator_id>' can give it a new key later. Revoking an operator that
is already revoked changes nothing and exits 0.

Options:
  -h, --help  show this help

${ENV_HELP}`,
  async run(argv, ctx) {
    const name = "operators revoke";
    const { positionals } = parseCommandLine(name, argv, {});
    const operatorId = operatorIdArg(name, positionals);
    const { url, k } = storeEnv(ctx);
    const result = await withRedis(url, (redis) => revokeOperator(redis, k, operatorId));
    return reportRevoke(ctx, "operator", operatorId, result, k.prefix);
  },
};

export const operatorsCommands: readonly Command[] = [add, list, revoke];
