import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.js";

/** What a command gets from the process: its environment, where to write and what to read. */
export interface Context {
  readonly env: Record<string, string | undefined>;
  /** How to run hypercode again from here (`npx hypercode`, `node bin/hypercode.mjs`), for printed commands. */
  readonly invocation: string;
  out(text: string): void;
  err(text: string): void;
  /** Standard input as UTF-8 to its end, or undefined once it is longer than `maxBytes`. */
  readStdin(maxBytes: number): Promise<string | undefined>;
}

export interface Command {
  /** The words that select it, e.g. `["agents", "add"]`. */
  readonly words: readonly string[];
  /** One line for `hypercode --help`. */
  readonly summary: string;
  /** The whole `--help` text. */
  readonly help: string;
  /** Runs with the arguments after its words; resolves with the exit code. */
  run(argv: string[], ctx: Context): Promise<number>;
}

export const commandName = (c: Pick<Command, "words">): string => c.words.join(" ");

/**
 * Runs a strict `parseArgs` call and turns its TypeErrors into a UsageError for `command`, in the
 * CLI's words (node's own text suggests `--` tricks that do not help here).
 */
export const parseOrUsage = <T>(command: string, parse: () => T): T => {
  try {
    return parse();
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    if (!code.startsWith("ERR_PARSE_ARGS")) throw err;
    const message = (err as Error).message;
    const name = /'([^' ]+)/.exec(message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown option '${name}'`, command);
    if (/argument missing|ambiguous/.test(message))
      throw new UsageError(`option '${name}' needs a value`, command);
    const firstLine = message.split("\n")[0] ?? message;
    throw new UsageError(firstLine.charAt(0).toLowerCase() + firstLine.slice(1), command);
  }
};

/** The usual command line: these options (strictly: anything else is a UsageError) and positionals. */
export const parseCommandLine = <O extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  argv: string[],
  options: O,
) => parseOrUsage(command, () => parseArgs({ args: argv, allowPositionals: true, strict: true, options }));

/** Checks the positional arguments against their names: none missing, none extra. */
export const expectPositionals = (
  command: string,
  given: readonly string[],
  names: readonly string[],
): string[] => {
  const missing = names[given.length];
  if (missing) throw new UsageError(`missing <${missing}>`, command);
  const extra = given[names.length];
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, command);
  return [...given];
};

/** `a, b,,c` → `["a", "b", "c"]`. */
export const commaList = (text: string | undefined): string[] =>
  (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
