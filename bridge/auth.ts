import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

/**
 * `Authorization: Bearer <token>`, compared in constant time: both sides are hashed first, so
 * neither the content nor the length of the token leaks through timing.
 */
export const bearerToken = (token: string): MiddlewareHandler => {
  if (token.length === 0) throw new Error("the REST bridge needs a non-empty token");
  const expected = digest(token);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match || !timingSafeEqual(digest(match[1] as string), expected)) {
      return c.json({ error: "Unauthorized" }, 401);
    }
    await next();
  };
};
