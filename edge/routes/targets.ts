import { Hono } from "hono";
import type { TargetsView } from "../../shared/protocol/http.js";
import { presentedKey } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { refusalToProblem } from "../http/refusals.js";
import type { IntakeStore } from "../intake-store.js";

export const targetRoutes = (deps: AppDeps, store: IntakeStore) => {
  const app = new Hono();
  app.get("/", async (c) => {
    const key = await presentedKey(c, deps);
    const r = await store.readTargets(key, deps.clock());
    if (!r.ok) throw refusalToProblem(r);
    const view: TargetsView = {
      agent_id: r.agent.agent_id,
      scope: { targets: r.agent.targets, actions: r.agent.actions },
      targets: r.targets.map((t) => ({
        target: t.target,
        actions: t.actions,
        replicas: t.replicas ?? null,
        revision: t.revision ?? null,
      })),
      ...(r.targets.length === 0
        ? { note: "no target in this key's scope is served by a runner right now" }
        : {}),
    };
    return c.json(view);
  });
  return app;
};
