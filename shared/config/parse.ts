import type * as z from "zod";
import { describeConfigError } from "./units.js";

/** A bad configuration: the process should print this and stop before serving anything. */
export class ConfigError extends Error {
  constructor(
    readonly component: string,
    readonly details: string,
  ) {
    super(`Invalid ${component} configuration:\n${details}`);
    this.name = "ConfigError";
  }
}

/** Parses environment variables once, at start; every problem is named by its variable. */
export const parseEnv = <S extends z.ZodType>(
  component: string,
  schema: S,
  env: Record<string, unknown>,
): z.output<S> => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(component, describeConfigError(parsed.error));
  return parsed.data;
};
