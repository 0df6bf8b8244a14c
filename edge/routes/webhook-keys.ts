import { Hono } from "hono";
import type { WebhookKeys } from "../../shared/protocol/http.js";
import type { AppDeps } from "../deps.js";
import type { IntakeStore } from "../intake-store.js";

/**
 * The public keys webhooks are signed with. Served without a key: they are public by nature, and
 * a receiver behind a callback URL need not hold the agent's API key to check what it is sent.
 * The runner ids behind the keys stay in Redis.
 */
export const webhookKeyRoutes = (deps: AppDeps, store: IntakeStore) => {
  const app = new Hono();
  app.get("/", async (c) => {
    const records = await store.readWebhookKeys(deps.clock());
    const body: WebhookKeys = {
      keys: records.map((r) => ({
        kty: "OKP",
        crv: "Ed25519",
        alg: "EdDSA",
        use: "sig",
        kid: r.kid,
        x: r.public_key,
        expires_at: new Date(r.expires_at).toISOString(),
      })),
    };
    return c.json(body);
  });
  return app;
};
