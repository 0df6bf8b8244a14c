import type { ExecutionContext, Hono } from "hono";
import { ConfigError } from "../../shared/config/parse.js";
import { createUpstashClient, UpstashAdapter } from "../../shared/redis/upstash-adapter.js";
import { createApp } from "../app.js";
import { HttpProblem, PROBLEM_CONTENT_TYPE } from "../http/problem.js";
import { parseWorkersEnv } from "./env.js";

/**
 * The Cloudflare Workers entry: the same app as on Node, reaching Redis over HTTP through
 * @upstash/redis. Built once per isolate, on the first request (Workers hand `env` to fetch only).
 */
type Fetch = (request: Request, ctx: ExecutionContext) => Response | Promise<Response>;
let handler: Fetch | undefined;

const build = (env: Record<string, unknown>): Fetch => {
  try {
    const { upstash, config } = parseWorkersEnv(env);
    const app: Hono = createApp({
      redis: new UpstashAdapter(createUpstashClient(upstash)),
      config,
      clock: Date.now,
      newId: () => crypto.randomUUID(),
      runtime: "workers",
    });
    return (request, ctx) => app.fetch(request, env, ctx);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Logged once per isolate; every request then says what is wrong instead of failing obscurely.
    console.error(JSON.stringify({ level: "error", msg: "invalid configuration", details: err.details }));
    const problem = new HttpProblem(500, "invalid-configuration", "The intake is misconfigured", {
      detail: `${err.message}\nFix the variables above (wrangler.toml [vars] or \`wrangler secret put\`).`,
    });
    return (request) =>
      new Response(JSON.stringify(problem.body(new URL(request.url).pathname)), {
        status: 500,
        headers: { "Content-Type": PROBLEM_CONTENT_TYPE },
      });
  }
};

export default {
  fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext) {
    handler ??= build(env);
    return handler(request, ctx);
  },
};
