import type { IntakeRefusal } from "../intake-store.js";
import type { HttpProblem } from "./problem.js";
import { problems } from "./problems.js";

const seconds = (ms: unknown): number => Math.max(1, Math.ceil(Number(ms) / 1000));

/** Headers of the IETF RateLimit fields draft, plus Retry-After for clients that know only that. */
export const rateLimitHeaders = (limit: number, remaining: number, resetMs: number, windowMs: number) => ({
  "RateLimit-Limit": String(limit),
  "RateLimit-Remaining": String(Math.max(0, remaining)),
  "RateLimit-Reset": String(seconds(resetMs)),
  "RateLimit-Policy": `${limit};w=${Math.round(windowMs / 1000)}`,
});

/** The longest a refused feed is told to wait. */
const FEED_RETRY_MS = 10_000;

const list = (v: unknown): string => (Array.isArray(v) && v.length > 0 ? v.join(", ") : "none");

/** What a script's refusal code means for the agent, as a problem it can act on. */
export const refusalToProblem = (r: IntakeRefusal, target = "", action = ""): HttpProblem => {
  switch (r.error) {
    case "unauthenticated":
      return problems.unauthenticated("the key is unknown or wrong");
    case "revoked":
      return problems.unauthenticated(
        `this key was revoked at ${String(r.revoked_at)}; ask an operator for a new one`,
      );
    case "not_found":
      return problems.notFound("no request with this id belongs to this agent");
    case "target_out_of_scope":
      return problems.forbidden(
        "target-out-of-scope",
        `this key may not request changes to '${target}' (allowed: ${list(r.allowed)})`,
      );
    case "action_out_of_scope":
      return problems.forbidden(
        "action-out-of-scope",
        `this key may not request '${action}' (allowed: ${list(r.allowed)})`,
      );
    case "no_targets_published":
      return problems.unprocessable(
        "target-not-enabled",
        "Target not enabled",
        `no runner has published any targets yet, so '${target}' cannot be served: start a runner beside the Docker socket and label the service with hypercode.enable=true`,
      );
    case "target_not_enabled":
      return problems.unprocessable(
        "target-not-enabled",
        "Target not enabled",
        `no runner serves a target named '${target}'; GET /v1/targets lists the ones you may request`,
      );
    case "target_expired":
      return problems.unprocessable(
        "target-not-enabled",
        "Target not enabled",
        `the runner that served '${target}' has stopped reporting it; retry once a runner is back`,
      );
    case "action_not_enabled":
      return problems.unprocessable(
        "action-not-enabled",
        "Action not enabled on target",
        `'${target}' does not accept '${action}' (it accepts: ${list(r.allowed)})`,
      );
    case "callback_not_allowed":
      return problems.forbidden(
        "callback-not-allowed",
        `callback_url is not under a prefix allowed for this agent (allowed: ${list(r.allowed)}); an operator sets them with 'hypercode agents add --callbacks'`,
      );
    case "idempotency_key_reused":
      return problems.unprocessable(
        "idempotency-key-reused",
        "Idempotency key reused",
        "this Idempotency-Key was already used with a different request body; use a new key for a new request",
      );
    case "request_id_reused":
      // The same words whoever holds the id: nothing about another agent's request leaks.
      return problems.conflict(
        "request-id-reused",
        "Request id already used",
        "this id already names a different request; send a new id (a fresh uuid4) for a new request, or exactly the same request to retry it",
      );
    case "agent_rate_limited":
    case "target_budget_exhausted": {
      const limit = Number(r.limit);
      const window = Number(r.window_ms);
      const agent = r.error === "agent_rate_limited";
      return problems.rateLimited(
        agent ? "rate-limited" : "change-budget-exhausted",
        agent ? "Too many requests" : "Change budget exhausted",
        agent
          ? `this agent may submit ${limit} requests per ${seconds(window)} s; retry in ${seconds(r.retry_after_ms)} s`
          : `'${target}' accepts at most ${limit} changes per ${seconds(window)} s; retry in ${seconds(r.retry_after_ms)} s`,
        {
          "Retry-After": String(seconds(r.retry_after_ms)),
          ...rateLimitHeaders(limit, 0, Number(r.retry_after_ms), window),
        },
      );
    }
    case "too_many_feeds": {
      // The oldest place lapses at the latest then; feeds usually end sooner, so ask again soon.
      const retry = Math.min(Number(r.retry_after_ms), FEED_RETRY_MS);
      return problems.rateLimited(
        "too-many-feeds",
        "Too many live feeds",
        `this agent already follows ${Number(r.limit)} live feeds, the most it may hold open at once; close one, or retry in ${seconds(retry)} s`,
        { "Retry-After": String(seconds(retry)) },
      );
    }
    default:
      return unexpected(r.error);
  }
};

/** A code added to a script's union but not to the switch fails to compile here. */
const unexpected = (_code: never): HttpProblem => problems.internal();
