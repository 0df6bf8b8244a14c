import { z } from "zod";
import { agentIdOfKey } from "../shared/api-key.js";
import { ConfigError, parseEnv } from "../shared/config/parse.js";
import { blankIsUnset, keyPrefix, portNumber, redisUrl } from "../shared/config/rules.js";

/** Where the CLI looks for the intake when HYPERCODE_URL is not set: what `up` and `intake` serve. */
export const DEFAULT_INTAKE_URL = "http://127.0.0.1:8787";

/** Where the CLI looks for Redis when REDIS_URL is not set. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/**
 * Every variable the CLI itself reads. Each command picks the ones it uses, so a bad value only
 * stops the commands that need it. Shared variables follow shared/config/rules.ts, as the intake's
 * and the runner's do.
 */
const cliEnvSchema = z.object({
  REDIS_URL: blankIsUnset(redisUrl.optional()),
  KEY_PREFIX: keyPrefix,
  PORT: blankIsUnset(portNumber.default(8787)),
  HOST: blankIsUnset(z.string().default("127.0.0.1")),
  BRIDGE_TOKEN: blankIsUnset(z.string().optional()),
  BRIDGE_PORT: blankIsUnset(portNumber.optional()),
  BRIDGE_HOST: blankIsUnset(z.string().optional()),
  HYPERCODE_URL: blankIsUnset(
    z
      .string()
      .regex(
        /^https?:\/\/[^\s/]+/,
        "must be the intake's http:// or https:// URL, such as http://127.0.0.1:8787",
      )
      .default(DEFAULT_INTAKE_URL),
  ),
  // The value is never printed: a message about it names only the variable.
  HYPERCODE_KEY: blankIsUnset(
    z
      .string()
      .refine(
        (key) => agentIdOfKey(key) !== undefined,
        "must be an agent key as 'hypercode agents add' prints it (hc1.<agent_id>.<secret>)",
      )
      .optional(),
  ),
});

type CliEnv = z.output<typeof cliEnvSchema>;
type EnvName = keyof CliEnv;

/** Parses the named variables once, at the start of a command; a bad one is a ConfigError. */
export const readEnv = <const N extends EnvName>(
  names: readonly N[],
  env: Record<string, string | undefined>,
): Pick<CliEnv, N> => {
  const mask = Object.fromEntries(names.map((n) => [n, true]));
  // zod cannot follow a generic key set through pick(); the names above are exactly the keys parsed.
  return parseEnv("hypercode", cliEnvSchema.pick(mask as never), env) as unknown as Pick<CliEnv, N>;
};

/** A variable a command cannot do without, reported like any other configuration error. */
export const requireEnv = <T>(name: EnvName, value: T | undefined, why: string): T => {
  if (value === undefined) throw new ConfigError("hypercode", `  ${name}: required ${why}`);
  return value;
};
