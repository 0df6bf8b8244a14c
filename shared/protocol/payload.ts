import * as z from "zod";
import { namedRecord } from "./named-record.js";

/** Names of build args and env keys: what a shell and a Dockerfile `ARG` accept. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

const variableName = z.string().regex(VARIABLE_NAME, "must be a variable name: letters, digits and '_'");

/**
 * A Docker image reference, `[registry/]repository[:tag][@digest]`, bounded to the 255 characters
 * Docker itself accepts. Which repositories a target may use is the runner's policy, not the protocol's.
 */
export const IMAGE_REFERENCE =
  /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export const imageReference = z.string().max(255).regex(IMAGE_REFERENCE, "must be a Docker image reference");

const MAX_VARIABLES = 32;

/**
 * A NUL cannot reach a process at all (Docker accepts it, then the container fails to start, which
 * was retried to the dead-letter stream). A line break is refused too: environments are read back
 * as `KEY=VALUE` lines (`--env-file`, `printenv > /etc/environment` in entrypoints, `env` in a
 * shell), where a value with a newline would forge a variable the target's policy never allowed.
 * Build args get the same rule, because a Dockerfile's `ENV X=$ARG` makes one an env value.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const NO_NUL_OR_LINE_BREAK = /^[^\x00\n\r]*$/;
const variableValue = z
  .string()
  .max(4096)
  .regex(
    NO_NUL_OR_LINE_BREAK,
    "must not contain NUL, newline or carriage return: a process cannot receive a NUL, and a line break would forge another KEY=VALUE line where the environment is read as lines",
  );

export const restartPayload = z.strictObject({ action: z.literal("restart") });

export const redeployPayload = z.strictObject({
  action: z.literal("redeploy"),
  image: imageReference.optional(),
});

export const rebuildPayload = z.strictObject({
  action: z.literal("rebuild"),
  build_args: namedRecord(variableName, variableValue)
    .refine((v) => Object.keys(v).length <= MAX_VARIABLES, `at most ${MAX_VARIABLES} build args`)
    .meta({ maxProperties: MAX_VARIABLES })
    .optional(),
  no_cache: z.boolean().optional(),
});

export const updateConfigPayload = z.strictObject({
  action: z.literal("update_config"),
  /** `null` removes the variable. */
  env: namedRecord(variableName, variableValue.nullable())
    .refine((v) => Object.keys(v).length >= 1, "env must change at least one variable")
    .refine((v) => Object.keys(v).length <= MAX_VARIABLES, `at most ${MAX_VARIABLES} env changes`)
    // A record's size is a refinement zod cannot express in JSON Schema: said here, for the document.
    .meta({ minProperties: 1, maxProperties: MAX_VARIABLES }),
});

export const rollbackPayload = z.strictObject({
  action: z.literal("rollback"),
  revision: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, "revision must be a revision id as shown in the target's history")
    .regex(/^(?!.*\.\.)/, "revision must not contain '..'")
    .optional(),
});

export const MAX_REPLICAS = 32;

export const scalePayload = z.strictObject({
  action: z.literal("scale"),
  // Zero is refused on purpose: scaling a target to nothing is an outage, not an improvement.
  replicas: z.number().int().min(1).max(MAX_REPLICAS),
});

export const improvementPayload = z.discriminatedUnion("action", [
  restartPayload,
  redeployPayload,
  rebuildPayload,
  updateConfigPayload,
  rollbackPayload,
  scalePayload,
]);

export type ImprovementPayload = z.infer<typeof improvementPayload>;
export type Action = ImprovementPayload["action"];
export const ACTIONS = [
  "restart",
  "redeploy",
  "rebuild",
  "update_config",
  "rollback",
  "scale",
] as const satisfies readonly Action[];
export const actionName = z.enum(ACTIONS);
