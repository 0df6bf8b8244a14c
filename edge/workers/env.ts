import * as z from "zod";
import { ConfigError, parseEnv } from "../../shared/config/parse.js";
import { type IntakeConfig, parseIntakeConfig } from "../config.js";

const secret = (name: string) =>
  z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? `is not set; set it with \`wrangler secret put ${name}\``
          : "must be a string",
    })
    .min(1, `is empty; set it with \`wrangler secret put ${name}\``);

/** What only the Workers entry needs: where the Upstash REST endpoint is and its token (secrets). */
const workersEnvSchema = z.object({
  UPSTASH_REDIS_REST_URL: secret("UPSTASH_REDIS_REST_URL").pipe(
    z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://<db>.upstash.io" }),
  ),
  UPSTASH_REDIS_REST_TOKEN: secret("UPSTASH_REDIS_REST_TOKEN"),
});

export interface WorkersEnv {
  readonly upstash: { url: string; token: string };
  readonly config: IntakeConfig;
}

/** Parses everything at once, so one answer names every bad variable, not only the first. */
export const parseWorkersEnv = (env: Record<string, unknown>): WorkersEnv => {
  const problems: string[] = [];
  const attempt = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err.details);
      return undefined;
    }
  };
  const upstash = attempt(() => parseEnv("Workers intake", workersEnvSchema, env));
  const config = attempt(() => parseIntakeConfig(env));
  if (!upstash || !config) throw new ConfigError("Workers intake", problems.join("\n"));
  return {
    upstash: { url: upstash.UPSTASH_REDIS_REST_URL, token: upstash.UPSTASH_REDIS_REST_TOKEN },
    config,
  };
};
