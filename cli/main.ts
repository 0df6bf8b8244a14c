import { ConfigError } from "../shared/config/parse.js";
import { type Command, type Context, commandName } from "./command.js";
import { agentsCommands } from "./commands/agents.js";
import { bridgeCommand } from "./commands/bridge.js";
import { dlqCommands } from "./commands/dlq.js";
import { intakeCommand } from "./commands/intake.js";
import { operatorsCommands } from "./commands/operators.js";
import { runnerCommand } from "./commands/runner.js";
import { statusCommands } from "./commands/status.js";
import { submitCommand } from "./commands/submit.js";
import { targetsCommand } from "./commands/targets.js";
import { upCommand } from "./commands/up.js";
import { CliError, EXIT, UsageError } from "./errors.js";
import { invocation } from "./invocation.js";
import { printable } from "./printable.js";
import { readBounded } from "./read-bounded.js";

/** Every command; `hypercode --help` lists them in this order. */
export const COMMANDS: readonly Command[] = [
  upCommand,
  intakeCommand,
  bridgeCommand,
  runnerCommand,
  ...agentsCommands,
  ...operatorsCommands,
  submitCommand,
  ...statusCommands,
  targetsCommand,
  ...dlqCommands,
];

const HELP = `Usage: hypercode <command> [options]

Agents ask for changes to their own infrastructure; HyperCode carries them out.

Commands:
${COMMANDS.map((c) => `  ${commandName(c).padEnd(15)} ${c.summary}`).join("\n")}

Run 'hypercode <command> --help' for a command's options and environment.

Environment (commands that talk to Redis: up, intake, bridge, runner, agents, operators, dlq):
  REDIS_URL      where Redis is (default redis://127.0.0.1:6379; 'up' starts its own when unset)
  KEY_PREFIX     prefix of every Redis key (default none)
Environment (commands that talk to the intake as an agent: submit, status, watch, targets):
  HYPERCODE_URL  the intake's address (default http://127.0.0.1:8787)
  HYPERCODE_KEY  the agent's API key, as 'hypercode agents add' printed it

Exit codes:
  0  done (a followed request succeeded; a server stopped cleanly on SIGINT/SIGTERM)
  1  failed: Redis or the intake unreachable, bad configuration, redis-server missing, or refused
     (e.g. the agent exists, no such agent, the intake said no: its reason is printed)
  2  usage: unknown command or option, missing or invalid argument; nothing was sent or written
  3  a request followed by 'submit --wait' or 'watch' ended failed, rolled_back, rejected or
     dead_lettered`;

/** Help for a group such as `agents`: its subcommands. */
const groupHelp = (group: string, members: readonly Command[]): string =>
  `Usage: hypercode ${group} <command> [options]

Commands:
${members.map((c) => `  ${c.words.slice(1).join(" ").padEnd(10)} ${c.summary}`).join("\n")}

Run 'hypercode ${group} <command> --help' for its options.`;

const wantsHelp = (argv: readonly string[]): boolean => {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
};

const dispatch = async (argv: string[], ctx: Context): Promise<number> => {
  const [first, second] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    ctx.out(HELP);
    return EXIT.ok;
  }
  const members = COMMANDS.filter((c) => c.words[0] === first);
  if (members.length === 0) {
    const what = first.startsWith("-") ? `unknown option '${first}'` : `unknown command '${first}'`;
    throw new UsageError(what, "");
  }
  const command = members.find((c) => c.words.length === 1 || c.words[1] === second);
  if (!command) {
    if (second === undefined || second === "--help" || second === "-h") {
      ctx.out(groupHelp(first, members));
      return EXIT.ok;
    }
    const what = second.startsWith("-")
      ? `unknown option '${second}'`
      : `unknown command '${first} ${second}'`;
    throw new UsageError(what, first);
  }
  const rest = argv.slice(command.words.length);
  if (wantsHelp(rest)) {
    ctx.out(command.help);
    return EXIT.ok;
  }
  return await command.run(rest, ctx);
};

/**
 * Every line `hypercode: `-prefixed and printable: an error can quote what the intake, Redis or an
 * agent said (a problem's detail, a script's reply), and must not carry escape sequences.
 */
const describe = (err: unknown): { message: string; exitCode: number } => {
  const { message, exitCode } = describeRaw(err);
  return { message: printable(message, { newlines: true }), exitCode };
};

const describeRaw = (err: unknown): { message: string; exitCode: number } => {
  if (err instanceof UsageError) {
    const help = err.command ? `hypercode ${err.command} --help` : "hypercode --help";
    const lines = err.message.split("\n").map((line) => `hypercode: ${line}`);
    return { message: `${lines.join("\n")}\nRun '${help}' for usage.`, exitCode: err.exitCode };
  }
  if (err instanceof CliError || err instanceof ConfigError) {
    return {
      message: `hypercode: ${err.message}`,
      exitCode: err instanceof CliError ? err.exitCode : EXIT.failed,
    };
  }
  // A system error (EADDRINUSE, ENOENT...) says enough by itself; anything else is a bug: keep its stack.
  const e = err as { code?: unknown; message?: unknown; stack?: unknown };
  const text = typeof e.code === "string" ? String(e.message) : String(e.stack ?? err);
  return { message: `hypercode: ${text}`, exitCode: EXIT.failed };
};

/** Runs the CLI; resolves with the exit code instead of exiting, so it can be called in-process. */
export const main = async (
  argv: string[],
  ctx: Context = {
    env: process.env,
    invocation: invocation(),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    readStdin: (maxBytes) => readBounded(process.stdin, maxBytes),
  },
): Promise<number> => {
  try {
    return await dispatch(argv, ctx);
  } catch (err) {
    const { message, exitCode } = describe(err);
    ctx.err(message);
    return exitCode;
  }
};
