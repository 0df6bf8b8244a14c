import { type FieldError, HttpProblem } from "./problem.js";

/**
 * Every problem the intake can answer with, by name, so that a status code and a title are
 * written once and tests and the OpenAPI description can list them.
 */
export const problems = {
  unauthenticated: (detail: string) =>
    new HttpProblem(401, "unauthenticated", "Authentication required", {
      detail,
      headers: { "WWW-Authenticate": 'Bearer realm="hypercode", error="invalid_token"' },
    }),
  forbidden: (code: string, detail: string, extra?: Record<string, unknown>) =>
    new HttpProblem(403, code, "Not allowed for this agent", { detail, extra }),
  crossSite: (seen: string) =>
    new HttpProblem(403, "cross-site-request", "Cross-site request refused", {
      detail: `this request changes state and came from another site (${seen}); submit it from the dashboard's own page`,
    }),
  notFound: (detail: string) => new HttpProblem(404, "not-found", "Not found", { detail }),
  methodNotAllowed: (method: string, path: string, allow: readonly string[]) =>
    new HttpProblem(405, "method-not-allowed", "Method not allowed", {
      detail: `${method} is not allowed on ${path}; use ${allow.join(" or ")}`,
      headers: { Allow: allow.join(", ") },
    }),
  unsupportedMediaType: (got: string | undefined) =>
    new HttpProblem(415, "unsupported-media-type", "Unsupported media type", {
      detail: `send the request as application/json (got ${got ? `'${got}'` : "no Content-Type"})`,
    }),
  payloadTooLarge: (limit: number) =>
    new HttpProblem(413, "payload-too-large", "Request body too large", {
      detail: `the body must be at most ${limit} bytes`,
    }),
  malformedJson: (detail: string) => new HttpProblem(400, "malformed-json", "Malformed JSON", { detail }),
  invalidHeader: (name: string, detail: string) =>
    new HttpProblem(400, "invalid-header", `Invalid ${name} header`, { detail }),
  validation: (errors: FieldError[]) =>
    new HttpProblem(422, "validation-failed", "The request does not match the schema", {
      detail: errors.map((e) => `${e.path || "(body)"}: ${e.message}`).join("; "),
      extra: { errors },
    }),
  unprocessable: (code: string, title: string, detail: string, extra?: Record<string, unknown>) =>
    new HttpProblem(422, code, title, { detail, extra }),
  conflict: (code: string, title: string, detail: string) => new HttpProblem(409, code, title, { detail }),
  rateLimited: (code: string, title: string, detail: string, headers: Record<string, string>) =>
    new HttpProblem(429, code, title, { detail, headers }),
  storeUnavailable: (retryAfterSeconds: number) =>
    new HttpProblem(503, "store-unavailable", "Temporarily unavailable", {
      detail: "the request store (Redis) cannot be reached; nothing was written, retry later",
      headers: { "Retry-After": String(retryAfterSeconds) },
    }),
  /** Never read: the client has gone. Rendered only so the handler ends like any other. */
  clientClosed: () =>
    new HttpProblem(400, "client-closed-request", "Client closed the request", {
      detail: "the connection closed before the request was complete",
    }),
  internal: () =>
    new HttpProblem(500, "internal-error", "Internal error", {
      detail: "the intake failed unexpectedly; nothing was written. The error has been logged.",
    }),
};
