import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { NONCE, type SecureHeadersVariables, secureHeaders } from "hono/secure-headers";
import { StoreUnavailableError } from "../../shared/errors.js";
import { keys } from "../../shared/keys.js";
import type { AppDeps } from "../deps.js";
import { HttpProblem } from "../http/problem.js";
import { problems } from "../http/problems.js";
import { sameOrigin } from "../http/same-origin.js";
import { endSession, operatorKeyOf, refusalMessage, sessionKey, startSession } from "./session.js";
import { DashboardStore } from "./store.js";
import { DashboardPage, renderSections, SignInPage, UnavailablePage } from "./view.js";

type Env = { Variables: SecureHeadersVariables };

/** A sign-in form carries one key; anything much larger is not one. */
const MAX_FORM_BYTES = 4096;

const signInRequired = () =>
  new HttpProblem(401, "unauthenticated", "Sign-in required", {
    detail: "sign in at /dashboard with an operator key; the session is missing, expired or revoked",
  });

/**
 * The operator dashboard: `GET /dashboard` (the page, or the sign-in form), `GET
 * /dashboard/data.json` (what the page polls), and the session (`POST /dashboard/session` signs
 * in; `DELETE /dashboard/session` or `POST /dashboard/session/delete` signs out). Every read is
 * one Lua script through the RedisPort, so it serves the same on Node and on Workers.
 */
export const dashboardRoutes = (deps: AppDeps) => {
  const store = new DashboardStore(deps.redis, keys(deps.config.keyPrefix));
  const app = new Hono<Env>();

  app.use(
    secureHeaders({
      // Its own inline script and style, by nonce; nothing else, from anywhere.
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: [NONCE],
        styleSrc: [NONCE],
        connectSrc: ["'self'"],
        imgSrc: ["data:"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
      xFrameOptions: "DENY",
      // The page's own POSTs must carry its origin (no-referrer makes browsers send Origin: null,
      // which the cross-site check refuses); other sites learn nothing, as before.
      referrerPolicy: "same-origin",
      // Whether the whole host is HTTPS-only is the deployment's decision, not the dashboard's.
      strictTransportSecurity: false,
    }),
  );
  app.use(async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });
  // Every state-changing route, present and future (approvals), refuses another site's request.
  app.use(sameOrigin(deps.config.publicUrl));

  const nonceOf = (c: Context<Env>) => c.get("secureHeadersNonce") ?? "";
  const signInForm = (c: Context<Env>, status: 200 | 401 | 503 = 200, error?: string) =>
    c.html(<SignInPage nonce={nonceOf(c)} error={error} />, status);

  app.get("/", async (c) => {
    const key = await sessionKey(c);
    if (!key) return signInForm(c);
    const now = deps.clock();
    try {
      const r = await store.read(key, now);
      if (!r.ok) {
        endSession(c);
        return signInForm(c, 401, refusalMessage(r));
      }
      return c.html(<DashboardPage nonce={nonceOf(c)} data={r.data} now={now} />);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      return c.html(<UnavailablePage nonce={nonceOf(c)} />, 503);
    }
  });

  app.get("/data.json", async (c) => {
    const key = await sessionKey(c);
    if (!key) throw signInRequired();
    const now = deps.clock();
    const r = await store.read(key, now);
    if (!r.ok) throw signInRequired();
    return c.json({ ...r.data, html: await renderSections(r.data, now) });
  });

  app.post(
    "/session",
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: () => {
        throw problems.payloadTooLarge(MAX_FORM_BYTES);
      },
    }),
    async (c) => {
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const text = typeof form.key === "string" ? form.key.trim() : "";
      if (text === "") return signInForm(c, 401, "Enter your operator key.");
      const presented = await operatorKeyOf(text);
      if (!presented.key) return signInForm(c, 401, presented.problem);
      try {
        const r = await store.signIn(presented.key);
        if (!r.ok) return signInForm(c, 401, refusalMessage(r));
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        return signInForm(
          c,
          503,
          "Redis unreachable: the key cannot be checked right now. Try again shortly.",
        );
      }
      startSession(c, text);
      return c.redirect("/dashboard", 303);
    },
  );

  const signOut = (c: Context<Env>) => {
    endSession(c);
    return c.redirect("/dashboard", 303);
  };
  app.delete("/session", signOut);
  app.post("/session/delete", signOut);

  return app;
};
