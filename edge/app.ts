import { Hono } from "hono";
import { HypercodeError } from "../shared/errors.js";
import { dashboardRoutes } from "./dashboard/index.js";
import type { AppDeps } from "./deps.js";
import { HttpProblem, PROBLEM_CONTENT_TYPE } from "./http/problem.js";
import { problems } from "./http/problems.js";
import { IntakeStore } from "./intake-store.js";
import { healthRoutes } from "./routes/health.js";
import { improvementRoutes } from "./routes/improvements.js";
import { schemaRoutes } from "./routes/schema.js";
import { targetRoutes } from "./routes/targets.js";
import { webhookKeyRoutes } from "./routes/webhook-keys.js";

/** Every path the intake serves, with its methods, so any other method answers 405 with Allow. */
const ROUTES: ReadonlyArray<[string, readonly string[]]> = [
  ["/healthz", ["GET", "HEAD"]],
  ["/readyz", ["GET", "HEAD"]],
  ["/v1/improvements", ["POST"]],
  ["/v1/improvements/:id", ["GET", "HEAD"]],
  ["/v1/improvements/:id/events", ["GET"]],
  ["/v1/targets", ["GET", "HEAD"]],
  ["/v1/webhook-keys", ["GET", "HEAD"]],
  ["/v1/schema/improvement-request.json", ["GET", "HEAD"]],
  ["/openapi.json", ["GET", "HEAD"]],
  ["/dashboard", ["GET", "HEAD"]],
  ["/dashboard/data.json", ["GET", "HEAD"]],
  ["/dashboard/session", ["POST", "DELETE"]],
  ["/dashboard/session/delete", ["POST"]],
];

/**
 * The client closed the connection before its request was read (it gave up, or the server's
 * REQUEST_TIMEOUT cut it off): reading the body fails with ECONNRESET on Node, and the request's
 * signal is aborted on runtimes that say so.
 */
const clientWentAway = (req: Request, err: unknown): boolean =>
  req.signal.aborted || (err as { code?: unknown } | null)?.code === "ECONNRESET";

const problemResponse = (p: HttpProblem, instance: string): Response =>
  new Response(JSON.stringify(p.body(instance)), {
    status: p.status,
    headers: { "Content-Type": PROBLEM_CONTENT_TYPE, ...p.headers },
  });

/** The intake, built from its ports; it imports no runtime, so Node and Workers serve the same app. */
export const createApp = (deps: AppDeps) => {
  const store = new IntakeStore(deps.redis, deps.config);
  const app = new Hono();

  app.route("/", healthRoutes(deps, store));
  app.route("/v1/improvements", improvementRoutes(deps, store));
  app.route("/v1/targets", targetRoutes(deps, store));
  app.route("/v1/webhook-keys", webhookKeyRoutes(deps, store));
  app.route("/", schemaRoutes());
  app.route("/dashboard", dashboardRoutes(deps));
  for (const [path, allow] of ROUTES) {
    app.all(path, (c) => {
      throw problems.methodNotAllowed(c.req.method, c.req.path, allow);
    });
  }

  app.notFound((c) => problemResponse(problems.notFound(`there is nothing at ${c.req.path}`), c.req.path));

  app.onError((err, c) => {
    if (err instanceof HttpProblem) return problemResponse(err, c.req.path);
    if (err instanceof HypercodeError && err.retryable)
      return problemResponse(problems.storeUnavailable(2), c.req.path);
    if (clientWentAway(c.req.raw, err)) {
      // Anyone can do this at will: one line, no stack, and no answer anyone will read.
      console.info(
        JSON.stringify({
          level: "info",
          msg: "client closed the connection mid-request",
          method: c.req.method,
          path: c.req.path,
        }),
      );
      return problemResponse(problems.clientClosed(), c.req.path);
    }
    // Never a stack trace to the caller; the operator gets it in the log.
    console.error(
      JSON.stringify({ level: "error", msg: "unhandled intake error", err: String(err?.stack ?? err) }),
    );
    return problemResponse(problems.internal(), c.req.path);
  });

  return app;
};
