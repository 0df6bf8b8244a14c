import { formatRate, parseRate } from "../../shared/config/units.js";
import type { AgentRecord } from "../../shared/protocol/agent.js";
import { ACTIONS, type Action, type ImprovementPayload } from "../../shared/protocol/payload.js";
import { addAgent, agentInputProblems, listAgents, revokeAgent } from "../agents-store.js";
import { type Command, commaList, expectPositionals, parseCommandLine } from "../command.js";
import { readEnv } from "../env.js";
import { EXIT, UsageError } from "../errors.js";
import { withRedis } from "../redis.js";
import { listTime, reportRevoke, storeEnv, storeEnvHelp } from "../store-env.js";
import { formatTable } from "../table.js";

const DEFAULT_RATE = "30/min";
const ENV_HELP = storeEnvHelp("intake");

// One valid payload per action, so that the printed curl line works as it stands.
const EXAMPLE_PAYLOADS: Record<Action, ImprovementPayload> = {
  restart: { action: "restart" },
  redeploy: { action: "redeploy" },
  rebuild: { action: "rebuild" },
  update_config: { action: "update_config", env: { LOG_LEVEL: "debug" } },
  rollback: { action: "rollback" },
  scale: { action: "scale", replicas: 2 },
};

/** A `curl` line that submits a request the new key is allowed to make. */
export const curlExample = (intakeUrl: string, apiKey: string, agent: AgentRecord): string => {
  const target = agent.targets.find((t) => t !== "*") ?? "my-service";
  const action = (agent.actions[0] ?? "restart") as Action;
  const body = {
    target_agent: target,
    improvement_type: "reliability",
    description: `${action} ${target}`,
    payload: EXAMPLE_PAYLOADS[action],
  };
  return [
    `  curl -X POST ${intakeUrl}/v1/improvements \\`,
    `    -H 'Authorization: Bearer ${apiKey}' \\`,
    `    -H 'Content-Type: application/json' \\`,
    `    -d '${JSON.stringify(body)}'`,
  ].join("\n");
};

const add: Command = {
  words: ["agents", "add"],
  summary: "create an agent and print its API key (once)",
  help: `Usage: hypercode agents add <agent_id> --targets <t1,t2|*> --actions <a1,a2> [--rate ${DEFAULT_RATE}] [--callbacks <urls>] [--replace] [--json]

Creates an agent allowed to ask for the given actions on the given targets, and prints its new
API key. The key is shown once: only its SHA-256 is stored, so it cannot be shown again.

Arguments:
  <agent_id>           lowercase a-z, 0-9, '-' or '_', starting with a letter or digit (at most 63)

Options:
  --targets <list>     comma-separated target names, or '*' for every target a runner serves
  --actions <list>     comma-separated, from: ${ACTIONS.join(", ")}
  --rate <rate>        accepted requests per window, e.g. 30/min, 10/hour, 5/30s (default ${DEFAULT_RATE})
  --callbacks <urls>   comma-separated URL prefixes the agent may give as callback_url for signed
                       completion webhooks, e.g. https://hooks.example.com/agents/ (default: none)
  --replace            replace an agent that exists and is not revoked (its old key stops working)
  --json               print {"agent_id", "api_key", ...} as one JSON object instead of text
  -h, --help           show this help

${ENV_HELP}
  HOST, PORT  the intake's address, used only in the printed curl example (default 127.0.0.1:8787)`,
  async run(argv, ctx) {
    const name = "agents add";
    const { values, positionals } = parseCommandLine(name, argv, {
      targets: { type: "string" },
      actions: { type: "string" },
      rate: { type: "string", default: DEFAULT_RATE },
      callbacks: { type: "string", default: "" },
      replace: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    });
    const [agentId] = expectPositionals(name, positionals, ["agent_id"]) as [string];
    if (values.targets === undefined) throw new UsageError("missing --targets (target names, or '*')", name);
    if (values.actions === undefined)
      throw new UsageError(`missing --actions (from: ${ACTIONS.join(", ")})`, name);
    const rate = parseRate(values.rate);
    const input = {
      agentId,
      targets: commaList(values.targets),
      actions: commaList(values.actions),
      callbacks: values.callbacks === "" ? [] : commaList(values.callbacks),
      replace: values.replace,
    };
    // Every problem at once, before Redis is touched: nothing is written for a bad command line.
    const problems = [
      ...agentInputProblems(input),
      ...(rate ? [] : [`invalid --rate '${values.rate}': use a rate such as 30/min, 10/hour or 5/30s`]),
    ];
    if (problems.length > 0 || !rate) throw new UsageError(problems.join("\n"), name);
    const { url, k } = storeEnv(ctx);
    const { HOST, PORT } = readEnv(["HOST", "PORT"], ctx.env);

    const result = await withRedis(url, (redis) => addAgent(redis, k, { ...input, rate }));
    if (result.outcome === "exists") {
      ctx.err(
        `hypercode: agent '${agentId}' already exists and is not revoked; nothing was changed.\n` +
          "Pass --replace to give it a new key (the old one stops working), or revoke it first.",
      );
      return EXIT.failed;
    }
    const { agent, apiKey } = result;
    const { agent_id, ...scope } = agent;
    const rateText = formatRate({ limit: agent.rate_limit, windowMs: agent.rate_window_ms });
    if (values.json) {
      ctx.out(
        JSON.stringify({
          agent_id,
          api_key: apiKey,
          ...scope,
          rate: rateText,
          replaced: result.outcome === "replaced",
        }),
      );
      return EXIT.ok;
    }
    ctx.out(
      [
        `Agent '${agent.agent_id}' ${result.outcome} (targets: ${agent.targets.join(", ")}; actions: ${agent.actions.join(", ")}; rate: ${rateText}).`,
        "",
        "API key (shown this once: only its SHA-256 is stored, so it cannot be shown again; keep it secret):",
        "",
        `  ${apiKey}`,
        "",
        "The agent sends it as a Bearer token, for example:",
        "",
        // A wildcard listen address is not one a client can call.
        curlExample(
          `http://${HOST === "0.0.0.0" || HOST === "::" ? "127.0.0.1" : HOST}:${PORT}`,
          apiKey,
          agent,
        ),
      ].join("\n"),
    );
    return EXIT.ok;
  },
};

const list: Command = {
  words: ["agents", "list"],
  summary: "list agents with their scope, rate and state (never their keys)",
  help: `Usage: hypercode agents list [--json]

Lists every agent: id, targets, actions, rate, when it was created and, if so, revoked.
Keys are never shown; only their SHA-256 is stored, and this command does not print it.

Options:
  --json      print {"agents": [...]} instead of a table
  -h, --help  show this help

${ENV_HELP}`,
  async run(argv, ctx) {
    const name = "agents list";
    const { values, positionals } = parseCommandLine(name, argv, {
      json: { type: "boolean", default: false },
    });
    expectPositionals(name, positionals, []);
    const { url, k } = storeEnv(ctx);
    const agents = await withRedis(url, (redis) => listAgents(redis, k));
    const rateOf = (a: AgentRecord) => formatRate({ limit: a.rate_limit, windowMs: a.rate_window_ms });
    if (values.json) {
      ctx.out(JSON.stringify({ agents: agents.map((a) => ({ ...a, rate: rateOf(a) })) }));
      return EXIT.ok;
    }
    if (agents.length === 0) {
      ctx.out(
        `No agents yet. Create one with: ${ctx.invocation} agents add <agent_id> --targets <names> --actions <actions>`,
      );
      return EXIT.ok;
    }
    ctx.out(
      formatTable([
        ["AGENT", "TARGETS", "ACTIONS", "RATE", "CREATED", "REVOKED"],
        ...agents.map((a) => [
          a.agent_id,
          a.targets.join(","),
          a.actions.join(","),
          rateOf(a),
          listTime(a.created_at),
          listTime(a.revoked_at),
        ]),
      ]),
    );
    return EXIT.ok;
  },
};

const revoke: Command = {
  words: ["agents", "revoke"],
  summary: "revoke an agent's key at once (the record stays, for the audit trail)",
  help: `Usage: hypercode agents revoke <agent_id>

Revokes the agent's API key: its next request is refused. The record stays (shown as revoked
by 'hypercode agents list'); 'hypercode agents add <agent_id> ...' can give it a new key later.
Revoking an agent that is already revoked changes nothing and exits 0.

Options:
  -h, --help  show this help

${ENV_HELP}`,
  async run(argv, ctx) {
    const name = "agents revoke";
    const { positionals } = parseCommandLine(name, argv, {});
    const [agentId] = expectPositionals(name, positionals, ["agent_id"]) as [string];
    const { url, k } = storeEnv(ctx);
    const result = await withRedis(url, (redis) => revokeAgent(redis, k, agentId));
    return reportRevoke(ctx, "agent", agentId, result, k.prefix);
  },
};

/** A time as the list commands show it: to the second, or '-' for none. */
export const agentsCommands: readonly Command[] = [add, list, revoke];
