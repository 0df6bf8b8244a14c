import { Hono } from "hono";
import type { AppDeps } from "../deps.js";
import { problems } from "../http/problems.js";
import type { IntakeStore } from "../intake-store.js";

export const healthRoutes = (deps: AppDeps, store: IntakeStore) => {
  const app = new Hono();
  /** The process is up; says nothing about Redis, so an orchestrator does not restart us for it. */
  app.get("/healthz", (c) => c.json({ status: "ok", runtime: deps.runtime }));
  /** Ready to accept work: Redis answers. */
  app.get("/readyz", async (c) => {
    try {
      await store.ping();
    } catch {
      throw problems.storeUnavailable(2);
    }
    return c.json({ status: "ready" });
  });
  return app;
};
