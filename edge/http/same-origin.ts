import type { MiddlewareHandler } from "hono";
import { problems } from "./problems.js";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The origin the browser used for this request: the URL the app sees, with the scheme a
 * TLS-terminating proxy reports (a browser cannot set X-Forwarded-Proto on a cross-site form).
 */
const ownOrigin = (req: Request): string => {
  const url = new URL(req.url);
  const proto = req.headers.get("x-forwarded-proto");
  return proto === "https" || proto === "http" ? `${proto}://${url.host}` : url.origin;
};

/**
 * Refuses state-changing requests that another site made the browser send (login CSRF, forced
 * sign-out): a cookie with SameSite=Strict is not sent cross-site, but a cross-site POST can still
 * set a new one. Fetch Metadata first (every current browser sends `Sec-Fetch-Site`; `none` is a
 * navigation the user started), else `Origin` must be this origin or the public URL. A request
 * with neither header comes from no browser, which cannot be made to send it by another site.
 */
export const sameOrigin = (publicUrl?: string): MiddlewareHandler => {
  const publicOrigin = publicUrl ? new URL(publicUrl).origin : undefined;
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    const allowed =
      site !== undefined
        ? site === "same-origin" || site === "none"
        : origin === undefined || origin === ownOrigin(c.req.raw) || origin === publicOrigin;
    if (!allowed) {
      throw problems.crossSite(site !== undefined ? `Sec-Fetch-Site: ${site}` : `Origin: ${origin}`);
    }
    return next();
  };
};
