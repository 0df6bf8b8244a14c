import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { agentIdOfKey, hashApiKey, operatorIdOfKey } from "../../shared/api-key.js";
import type { Refusal } from "../../shared/protocol/index.js";

/**
 * The dashboard's session is the operator key itself, in a cookie the page's scripts cannot read
 * (HttpOnly) and other sites cannot make the browser send (SameSite=Strict). Nothing is kept on
 * the server: every request checks the key against its record, so revoking an operator signs out
 * every dashboard it has open on their next refresh.
 */
export const SESSION_COOKIE = "hypercode_operator";
const SESSION_PATH = "/dashboard";
/** The browser forgets the key after this long; the operator signs in again. */
const SESSION_MAX_AGE_S = 12 * 3600;

export interface OperatorKey {
  readonly operatorId: string;
  readonly keyHash: string;
}

/** The key's shape checked without Redis; undefined with the reason the sign-in form shows. */
export const operatorKeyOf = async (
  text: string,
): Promise<{ key: OperatorKey } | { key?: undefined; problem: string }> => {
  const operatorId = operatorIdOfKey(text);
  if (operatorId) return { key: { operatorId, keyHash: await hashApiKey(text) } };
  if (agentIdOfKey(text)) {
    return {
      problem:
        "That is an agent key. The dashboard needs an operator key (hco1.…): create one with 'hypercode operators add <id>'.",
    };
  }
  return { problem: "That is not an operator key: it looks like hco1.<operator_id>.<secret>." };
};

/** The operator key of this browser's session, if it holds one that is well formed. */
export const sessionKey = async (c: Context): Promise<OperatorKey | undefined> => {
  const text = getCookie(c, SESSION_COOKIE);
  return text ? (await operatorKeyOf(text)).key : undefined;
};

// Behind a TLS-terminating proxy the app sees http; the proxy says what the browser used.
const isHttps = (c: Context): boolean =>
  new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";

export const startSession = (c: Context, keyText: string): void =>
  setCookie(c, SESSION_COOKIE, keyText, {
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c),
    path: SESSION_PATH,
    maxAge: SESSION_MAX_AGE_S,
  });

export const endSession = (c: Context): void => {
  deleteCookie(c, SESSION_COOKIE, { path: SESSION_PATH, secure: isHttps(c) });
};

/** What the sign-in form says about a key the store refused. */
export const refusalMessage = (r: Refusal): string =>
  r.error === "revoked"
    ? `This operator key was revoked at ${String(r.revoked_at)}. Ask for a new one ('hypercode operators add <id>').`
    : "That operator key is unknown or wrong.";
