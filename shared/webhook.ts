/**
 * Signed completion webhooks. The runner POSTs a request's final status to the callback URL the
 * agent gave; the body is signed with HMAC-SHA256 under a secret the agent already has and no one
 * had to distribute: the SHA-256 (hex) of its own API key, which is also all Redis holds of it.
 *
 *   Hypercode-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * The timestamp is signed too, so a receiver can refuse replays older than a few minutes.
 */
export const SIGNATURE_HEADER = "Hypercode-Signature";

const hex = (buf: ArrayBuffer): string =>
  Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");

const hmac = async (secret: string, message: string): Promise<string> => {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message)));
};

export const signWebhook = async (secret: string, timestampSeconds: number, body: string): Promise<string> =>
  `t=${timestampSeconds},v1=${await hmac(secret, `${timestampSeconds}.${body}`)}`;

/**
 * For receivers (agents): true if `header` signs `body` under `secret` and is at most
 * `toleranceSeconds` old. Compares in constant time.
 */
export const verifyWebhook = async (
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): Promise<boolean> => {
  const parts = Object.fromEntries(header.split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = Number(parts.t);
  const given = parts.v1 ?? "";
  if (!Number.isSafeInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = await hmac(secret, `${t}.${body}`);
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ (given.charCodeAt(i) || 0);
  return diff === 0;
};

/**
 * Turns an operator's callback prefix into its canonical form: http(s), no credentials, query or
 * fragment, and a path that ends in `/`, so that a plain string prefix test (which the intake's
 * Lua script does) cannot be fooled: `https://hooks.example.com/` does not prefix
 * `https://hooks.example.com.evil.io/`. Returns undefined if it cannot be one.
 */
export const normaliseCallbackPrefix = (text: string): string | undefined => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash)
    return undefined;
  if (!url.pathname.endsWith("/")) url.pathname = `${url.pathname}/`;
  return url.href;
};

/** A callback URL in canonical form (what is compared with the prefixes), or undefined. */
export const normaliseCallbackUrl = (text: string): string | undefined => {
  try {
    const url = new URL(text);
    return /^https?:$/.test(url.protocol) && !url.username && !url.password ? url.href : undefined;
  } catch {
    return undefined;
  }
};

/** The same test the intake's script makes, for the runner's own re-check. */
export const callbackAllowed = (url: string, prefixes: readonly string[]): boolean => {
  const canonical = normaliseCallbackUrl(url);
  return canonical !== undefined && prefixes.some((p) => canonical.startsWith(p));
};
