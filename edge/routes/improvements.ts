import { Hono } from "hono";
import { type Accepted, IDEMPOTENCY_KEY } from "../../shared/protocol/http.js";
import {
  fingerprintText,
  type ImprovementRequest,
  improvementSubmission,
  requestId,
} from "../../shared/protocol/index.js";
import { normaliseCallbackUrl } from "../../shared/webhook.js";
import { presentedKey } from "../auth.js";
import { type AppDeps, hashOf } from "../deps.js";
import { problems } from "../http/problems.js";
import { readJsonBody } from "../http/read-json.js";
import { rateLimitHeaders, refusalToProblem } from "../http/refusals.js";
import { fieldErrors } from "../http/validation.js";
import type { IntakeStore } from "../intake-store.js";
import { statusFeed } from "./status-feed.js";
import { statusView } from "./status-view.js";

export const improvementRoutes = (deps: AppDeps, store: IntakeStore) => {
  const app = new Hono();

  app.post("/", async (c) => {
    const key = await presentedKey(c, deps);
    const body = await readJsonBody(c, deps.config.maxBodyBytes);
    const parsed = improvementSubmission.safeParse(body);
    const idempotencyKey = c.req.header("idempotency-key");
    const badKey = idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey);
    const wrongAgent =
      parsed.success && parsed.data.agent_id !== undefined && parsed.data.agent_id !== key.agentId;

    // Input that is refused anyway costs a second round trip: an unauthenticated caller learns
    // nothing about the schema, and the accepted path stays one script call.
    if (!parsed.success || badKey || wrongAgent) {
      const auth = await store.authenticate(key);
      if (!auth.ok) throw refusalToProblem(auth);
      if (!parsed.success) throw problems.validation(fieldErrors(parsed.error));
      if (badKey)
        throw problems.invalidHeader("Idempotency-Key", "must be 1 to 255 printable ASCII characters");
      throw problems.forbidden(
        "agent-mismatch",
        `agent_id '${parsed.data.agent_id}' does not match the key's agent '${key.agentId}'`,
      );
    }

    const now = deps.clock();
    const hash = hashOf(deps);
    const { id, ...asked } = parsed.data;
    const request: ImprovementRequest = {
      ...asked,
      // Canonical form, so the script's prefix test sees what the runner will call.
      ...(asked.callback_url ? { callback_url: normaliseCallbackUrl(asked.callback_url) } : {}),
      agent_id: key.agentId,
      request_id: id ?? deps.newId(),
      created_at: new Date(now).toISOString(),
    };
    const result = await store.submit({
      key,
      request,
      now,
      idempotencyKeyHash: idempotencyKey === undefined ? undefined : await hash(idempotencyKey),
      fingerprint: await hash(fingerprintText(request)),
      agentChoseId: id !== undefined,
    });
    if (!result.ok) throw refusalToProblem(result, request.target_agent, request.payload.action);

    const location = `/v1/improvements/${result.request_id}`;
    const headers: Record<string, string> = { Location: location };
    if (result.replayed) headers["Idempotent-Replayed"] = "true";
    else {
      Object.assign(
        headers,
        rateLimitHeaders(
          result.rate.limit,
          result.rate.remaining,
          result.rate.reset_ms,
          result.rate.window_ms,
        ),
      );
    }
    const accepted: Accepted = {
      request_id: result.request_id,
      status: "queued",
      // Not from c.req.url: its host is the client's Host header, which anyone can set.
      status_url: `${deps.config.publicUrl ?? ""}${location}`,
      created_at: result.replayed ? result.created_at : request.created_at,
    };
    return c.json(accepted, 202, headers);
  });

  app.get("/:id", async (c) => {
    const key = await presentedKey(c, deps);
    const id = c.req.param("id");
    if (!requestId.safeParse(id).success) {
      const auth = await store.authenticate(key);
      if (!auth.ok) throw refusalToProblem(auth);
      throw problems.notFound("no request with this id belongs to this agent");
    }
    const result = await store.readRequest(key, id);
    if (!result.ok) throw refusalToProblem(result);
    return c.json(statusView(result.status, result.events));
  });

  app.get("/:id/events", statusFeed(deps, store));

  return app;
};
