import { SLUG_PATTERN } from "./protocol/slug.js";

/**
 * API keys look like `hc1.<agent_id>.<43 chars of base64url>`: the agent id lets the intake find
 * the record with one key lookup (no index of hashes to scan), the 256 random bits make the key
 * unguessable. Only the SHA-256 of the whole key is stored.
 */
const KEY_PREFIX = "hc1";
const SECRET = /^[A-Za-z0-9_-]{43}$/;

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

export const generateApiKey = (agentId: string): string => {
  const secret = new Uint8Array(32);
  crypto.getRandomValues(secret);
  return `${KEY_PREFIX}.${agentId}.${base64url(secret)}`;
};

/** The agent id a well-formed key names, or undefined for anything else. */
export const agentIdOfKey = (key: string): string | undefined => {
  const parts = key.split(".");
  if (parts.length !== 3 || parts[0] !== KEY_PREFIX) return undefined;
  const [, agentId, secret] = parts as [string, string, string];
  return SLUG_PATTERN.test(agentId) && SECRET.test(secret) ? agentId : undefined;
};

export const sha256Hex = async (text: string): Promise<string> => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
};

export const hashApiKey = sha256Hex;
