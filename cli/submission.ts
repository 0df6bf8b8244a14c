import type { z } from "zod";
import {
  ACTIONS,
  type Action,
  IMPROVEMENT_TYPES,
  type ImprovementSubmission,
  improvementSubmission,
} from "../shared/protocol/index.js";
import { UsageError } from "./errors.js";
import { printable } from "./printable.js";

export const DEFAULT_TYPE = "performance";

/** What `hypercode submit` was given, before it is a request. */
export interface SubmitFlags {
  target?: string;
  action?: string;
  type?: string;
  description?: string;
  buildArgs: readonly string[];
  noCache: boolean;
  env: readonly string[];
  unsetEnv: readonly string[];
  image?: string;
  revision?: string;
  replicas?: string;
  id?: string;
  priority?: string;
  files: readonly string[];
  testResults?: string;
}

/** Which action each payload option belongs to. */
const ACTION_OF: Record<string, Action> = {
  "--build-arg": "rebuild",
  "--no-cache": "rebuild",
  "--env": "update_config",
  "--unset-env": "update_config",
  "--image": "redeploy",
  "--revision": "rollback",
  "--replicas": "scale",
};

/** The option a schema path came from, so a problem is reported in the words the user typed. */
const optionOf = (path: readonly PropertyKey[], flags: SubmitFlags): string => {
  const [first, second, third] = path.map(String);
  switch (first) {
    case "target_agent":
      return "--target";
    case "improvement_type":
      return "--type";
    case "description":
    case "id":
    case "priority":
      return `--${first}`;
    case "test_results":
      return "--test-results";
    case "files_changed": {
      const name = second === undefined ? undefined : flags.files[Number(second)];
      return name === undefined ? "--file" : `--file '${printable(name)}'`;
    }
    case "payload":
      break;
    default:
      return first ?? "(request)";
  }
  switch (second) {
    case "build_args":
      return third === undefined ? "--build-arg" : `--build-arg ${third}`;
    case "env":
      return third === undefined ? "--env/--unset-env" : `--env ${third}`;
    case "no_cache":
      return "--no-cache";
    case undefined:
    case "action":
      return "--action";
    default:
      return `--${second}`;
  }
};

/** Each schema problem on a line of its own, under the name `where` gives its path; printable. */
const issueLines = (error: z.ZodError, where: (path: readonly PropertyKey[]) => string): string[] =>
  error.issues.map((issue) => {
    // A record key that fails its own schema reports the reason one level down.
    const message =
      issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return printable(`${where(issue.path)}: ${message}`);
  });

/** `K=V` options into a record; every malformed or repeated one is a problem. */
const pairs = (option: string, given: readonly string[], problems: string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const pair of given) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      problems.push(`${option} '${pair}' must be NAME=VALUE`);
      continue;
    }
    const name = pair.slice(0, eq);
    if (name in out) problems.push(`${option} ${name} is given twice`);
    out[name] = pair.slice(eq + 1);
  }
  return out;
};

/**
 * Builds the body of `POST /v1/improvements` from the options and checks it with the protocol's
 * own schema, so a mistake is reported here, with every problem at once, before anything is sent.
 */
export const buildSubmission = (flags: SubmitFlags): ImprovementSubmission => {
  const problems: string[] = [];
  const action = flags.action;
  const type = flags.type ?? DEFAULT_TYPE;
  if (flags.target === undefined) problems.push("missing --target <target>");
  if (action === undefined) problems.push(`missing --action <action> (one of ${ACTIONS.join(", ")})`);
  else if (!(ACTIONS as readonly string[]).includes(action))
    problems.push(`unknown --action '${action}': choose from ${ACTIONS.join(", ")}`);
  if (!(IMPROVEMENT_TYPES as readonly string[]).includes(type.toLowerCase()))
    problems.push(`unknown --type '${type}': choose from ${IMPROVEMENT_TYPES.join(", ")}`);

  const given: Record<string, boolean> = {
    "--build-arg": flags.buildArgs.length > 0,
    "--no-cache": flags.noCache,
    "--env": flags.env.length > 0,
    "--unset-env": flags.unsetEnv.length > 0,
    "--image": flags.image !== undefined,
    "--revision": flags.revision !== undefined,
    "--replicas": flags.replicas !== undefined,
  };
  for (const [option, isGiven] of Object.entries(given)) {
    if (isGiven && action !== undefined && ACTION_OF[option] !== action)
      problems.push(`${option} is only for --action ${ACTION_OF[option]}`);
  }
  if (action === "scale" && flags.replicas === undefined)
    problems.push("--action scale needs --replicas <n>");

  const buildArgs = pairs("--build-arg", flags.buildArgs, problems);
  const env: Record<string, string | null> = pairs("--env", flags.env, problems);
  for (const name of flags.unsetEnv) {
    if (name in env) problems.push(`--env ${name} and --unset-env ${name} contradict each other`);
    env[name] = null;
  }
  const testResults =
    flags.testResults === undefined ? undefined : jsonOf("--test-results", flags.testResults);
  if (testResults && !testResults.ok) problems.push(testResults.problem);
  if (problems.length > 0) throw new UsageError(problems.map((p) => printable(p)).join("\n"), "submit");

  const payload: Record<string, unknown> = { action };
  if (action === "rebuild") {
    if (flags.buildArgs.length > 0) payload.build_args = buildArgs;
    if (flags.noCache) payload.no_cache = true;
  }
  if (action === "update_config") payload.env = env;
  if (flags.image !== undefined) payload.image = flags.image;
  if (flags.revision !== undefined) payload.revision = flags.revision;
  if (flags.replicas !== undefined) payload.replicas = numberIfWhole(flags.replicas);

  const parsed = improvementSubmission.safeParse({
    target_agent: flags.target,
    improvement_type: type,
    description: flags.description ?? `${action} ${flags.target} (hypercode submit)`,
    payload,
    ...(flags.id === undefined ? {} : { id: flags.id }),
    // 1 to 5 as the upstream number (the schema maps it to its word), anything else as typed.
    ...(flags.priority === undefined ? {} : { priority: numberIfWhole(flags.priority) }),
    ...(flags.files.length === 0 ? {} : { files_changed: flags.files }),
    ...(testResults?.ok ? { test_results: testResults.value } : {}),
  });
  if (!parsed.success)
    throw new UsageError(issueLines(parsed.error, (path) => optionOf(path, flags)).join("\n"), "submit");
  return parsed.data;
};

/** The options that describe the request, as typed, when given: `--body` replaces them all. */
const requestOptionsGiven = (flags: SubmitFlags): string[] => {
  const given: [string, boolean][] = [
    ["--target", flags.target !== undefined],
    ["--action", flags.action !== undefined],
    ["--type", flags.type !== undefined],
    ["--description", flags.description !== undefined],
    ["--build-arg", flags.buildArgs.length > 0],
    ["--no-cache", flags.noCache],
    ["--env", flags.env.length > 0],
    ["--unset-env", flags.unsetEnv.length > 0],
    ["--image", flags.image !== undefined],
    ["--revision", flags.revision !== undefined],
    ["--replicas", flags.replicas !== undefined],
    ["--id", flags.id !== undefined],
    ["--priority", flags.priority !== undefined],
    ["--file", flags.files.length > 0],
    ["--test-results", flags.testResults !== undefined],
  ];
  return given.filter(([, isGiven]) => isGiven).map(([option]) => option);
};

/**
 * The request `--body` holds (an upstream agent's `model_dump_json()`, a saved request), checked
 * with the same schema, each problem named by its field in the body. Options that describe the
 * request are refused beside it rather than merged: which of the two would win (does --env add to
 * the body's variables or replace them?) is a guess, and a wrong guess deploys something else.
 */
export const submissionFromBody = async (
  flags: SubmitFlags,
  read: () => Promise<string>,
): Promise<ImprovementSubmission> => {
  // Before reading: a mistake must not wait for standard input first.
  const beside = requestOptionsGiven(flags);
  if (beside.length > 0)
    throw new UsageError(
      `--body is the whole request: ${beside.join(", ")} cannot be given with it (change the body, or leave --body out)`,
      "submit",
    );
  const json = jsonOf("--body", await read());
  if (!json.ok) throw new UsageError(printable(json.problem), "submit");
  const parsed = improvementSubmission.safeParse(json.value);
  if (!parsed.success) {
    const where = (path: readonly PropertyKey[]) =>
      path.length === 0 ? "--body" : `--body ${path.join(".")}`;
    throw new UsageError(issueLines(parsed.error, where).join("\n"), "submit");
  }
  return parsed.data;
};

/** A number only if it reads as a whole one, so '3x' is refused rather than read as 3. */
const numberIfWhole = (text: string): string | number => (/^\s*-?\d+\s*$/.test(text) ? Number(text) : text);

const jsonOf = (
  option: string,
  text: string,
): { ok: true; value: unknown } | { ok: false; problem: string } => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, problem: `${option} is not JSON: ${(err as Error).message}` };
  }
};
