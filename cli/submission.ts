import type { z } from "zod";
import {
  ACTIONS,
  type Action,
  IMPROVEMENT_TYPES,
  type ImprovementSubmission,
  improvementSubmission,
} from "../shared/protocol/index.js";
import { UsageError } from "./errors.js";

/** What `hypercode submit` was given, before it is a request. */
export interface SubmitFlags {
  target?: string;
  action?: string;
  type: string;
  description?: string;
  buildArgs: readonly string[];
  noCache: boolean;
  env: readonly string[];
  unsetEnv: readonly string[];
  image?: string;
  revision?: string;
  replicas?: string;
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
const optionOf = (path: readonly PropertyKey[]): string => {
  const [first, second, third] = path.map(String);
  if (first === "target_agent") return "--target";
  if (first === "improvement_type") return "--type";
  if (first === "description") return "--description";
  if (first !== "payload") return first ?? "(request)";
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

const issueLines = (error: z.ZodError): string[] =>
  error.issues.map((issue) => {
    // A record key that fails its own schema reports the reason one level down.
    const message =
      issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return `${optionOf(issue.path)}: ${message}`;
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
  if (flags.target === undefined) problems.push("missing --target <target>");
  if (action === undefined) problems.push(`missing --action <action> (one of ${ACTIONS.join(", ")})`);
  else if (!(ACTIONS as readonly string[]).includes(action))
    problems.push(`unknown --action '${action}': choose from ${ACTIONS.join(", ")}`);
  if (!(IMPROVEMENT_TYPES as readonly string[]).includes(flags.type.toLowerCase()))
    problems.push(`unknown --type '${flags.type}': choose from ${IMPROVEMENT_TYPES.join(", ")}`);

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
  if (problems.length > 0) throw new UsageError(problems.join("\n"), "submit");

  const payload: Record<string, unknown> = { action };
  if (action === "rebuild") {
    if (flags.buildArgs.length > 0) payload.build_args = buildArgs;
    if (flags.noCache) payload.no_cache = true;
  }
  if (action === "update_config") payload.env = env;
  if (flags.image !== undefined) payload.image = flags.image;
  if (flags.revision !== undefined) payload.revision = flags.revision;
  // A number only if it reads as one, so '3x' is refused rather than read as 3.
  if (flags.replicas !== undefined)
    payload.replicas = /^\s*-?\d+\s*$/.test(flags.replicas) ? Number(flags.replicas) : flags.replicas;

  const parsed = improvementSubmission.safeParse({
    target_agent: flags.target,
    improvement_type: flags.type,
    description: flags.description ?? `${action} ${flags.target} (hypercode submit)`,
    payload,
  });
  if (!parsed.success) throw new UsageError(issueLines(parsed.error).join("\n"), "submit");
  return parsed.data;
};
