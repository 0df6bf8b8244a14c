import type { WebhookPublicKey } from "./protocol/http.js";

/**
 * Signed completion webhooks. The runner POSTs a request's final status to the callback URL the
 * agent gave, signed with the runner's own Ed25519 key:
 *
 *   Hypercode-Signature: t=<unix seconds>,kid=<key id>,ed25519=<base64url Ed25519("<t>.<body>")>
 *
 * Only the runner holds the private half. Redis holds the public half (webhookKeyRecord), which
 * the intake serves at `GET /v1/webhook-keys`; so reading Redis, or the intake's answers, gives no
 * way to sign. (Until issue 12 the signature was an HMAC under the agent key's SHA-256, which is
 * also what Redis stores of the key: anyone who could read Redis could sign as the runner.)
 * The timestamp is signed too, so a receiver can refuse replays older than a few minutes.
 * WebCrypto only, so that signing and verifying run on Node, Workers and in a browser alike.
 */
export const SIGNATURE_HEADER = "Hypercode-Signature";

export interface WebhookSigningKey {
  readonly kid: string;
  /** The raw public key, base64url: what the runner publishes. */
  readonly publicKey: string;
  readonly privateKey: CryptoKey;
}

const ED25519 = { name: "Ed25519" } as const;
const utf8 = (text: string) => new TextEncoder().encode(text);

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const fromBase64 = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  try {
    return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
};

/** A key's id: short, derived from the key itself, so no registry of ids is needed. */
const keyId = async (publicKey: string): Promise<string> =>
  base64url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", fromBase64(publicKey) ?? new Uint8Array())).slice(
      0,
      12,
    ),
  );

/** From an extractable private key: its public half and id; the key kept is not extractable. */
const signingKeyFrom = async (extractable: CryptoKey): Promise<WebhookSigningKey> => {
  const jwk = await crypto.subtle.exportKey("jwk", extractable);
  if (!jwk.x) throw new Error("not an Ed25519 private key");
  const privateKey = await crypto.subtle.importKey("jwk", jwk, ED25519, false, ["sign"]);
  return { kid: await keyId(jwk.x), publicKey: jwk.x, privateKey };
};

/** A fresh key pair, for a runner that was given no key file. */
export const generateWebhookKey = async (): Promise<WebhookSigningKey> => {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"])) as CryptoKeyPair;
  return signingKeyFrom(pair.privateKey);
};

/** An Ed25519 private key in PKCS#8 PEM (`openssl genpkey -algorithm ed25519`). */
export const importWebhookKeyPem = async (pem: string): Promise<WebhookSigningKey> => {
  const body = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem)?.[1];
  const der = body === undefined ? undefined : fromBase64(body.replace(/\s+/g, ""));
  if (!der) throw new Error("not a PEM private key (-----BEGIN PRIVATE KEY-----)");
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("pkcs8", der, ED25519, true, ["sign"]);
  } catch {
    throw new Error("not an Ed25519 private key in PKCS#8");
  }
  return signingKeyFrom(key);
};

export const signWebhook = async (
  key: WebhookSigningKey,
  timestampSeconds: number,
  body: string,
): Promise<string> => {
  const signature = await crypto.subtle.sign(ED25519, key.privateKey, utf8(`${timestampSeconds}.${body}`));
  return `t=${timestampSeconds},kid=${key.kid},ed25519=${base64url(new Uint8Array(signature))}`;
};

type VerifyingKey = Pick<WebhookPublicKey, "kid" | "x">;

/**
 * For receivers (agents): true if `header` signs `body` with one of `keys` (what
 * `GET /v1/webhook-keys` answered: the whole body or its `keys`) and is at most `toleranceSeconds`
 * old. A false for a kid the list lacks may mean a runner that started after the list was
 * fetched: fetch it again, then verify once more.
 */
export const verifyWebhook = async (
  keys: { readonly keys: readonly VerifyingKey[] } | readonly VerifyingKey[],
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): Promise<boolean> => {
  const parts = new Map(
    header.split(",").map((p) => {
      const at = p.indexOf("=");
      return [p.slice(0, at).trim(), p.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get("t"));
  if (!/^\d+$/.test(parts.get("t") ?? "") || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  // An array has a `keys` method, so `"keys" in` cannot tell the two apart.
  const list: readonly VerifyingKey[] = Array.isArray(keys) ? keys : (keys as { keys: VerifyingKey[] }).keys;
  const key = list.find((k) => k.kid === parts.get("kid"));
  const raw = key && fromBase64(key.x);
  const signature = fromBase64(parts.get("ed25519") ?? "");
  if (!raw || !signature) return false;
  try {
    const publicKey = await crypto.subtle.importKey("raw", raw, ED25519, false, ["verify"]);
    return await crypto.subtle.verify(ED25519, publicKey, signature, utf8(`${t}.${body}`));
  } catch {
    return false;
  }
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
