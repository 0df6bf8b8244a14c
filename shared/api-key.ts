import { SLUG_PATTERN } from "./protocol/slug.js";

/**
 * API keys look like `hc1.<agent_id>.<43 chars of base64url>`: the agent id lets the intake find
 * the record with one key lookup (no index of hashes to scan), the 256 random bits make the key
 * unguessable. Only the SHA-256 of the whole key is stored. Operator keys (the dashboard's) have
 * the same shape with another prefix, `hco1.<operator_id>.<secret>`, so neither kind of key can
 * ever be taken for the other.
 */
const AGENT_KEY_PREFIX = "hc1";
const OPERATOR_KEY_PREFIX = "hco1";
const SECRET = /^[A-Za-z0-9_-]{43}$/;

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const generateKey = (prefix: string, id: string): string => {
  const secret = new Uint8Array(32);
  crypto.getRandomValues(secret);
  return `${prefix}.${id}.${base64url(secret)}`;
};

/** The id a well-formed key with this prefix names, or undefined for anything else. */
const idOfKey = (prefix: string, key: string): string | undefined => {
  const parts = key.split(".");
  if (parts.length !== 3 || parts[0] !== prefix) return undefined;
  const [, id, secret] = parts as [string, string, string];
  return SLUG_PATTERN.test(id) && SECRET.test(secret) ? id : undefined;
};

export const generateApiKey = (agentId: string): string => generateKey(AGENT_KEY_PREFIX, agentId);

/** The agent id a well-formed key names, or undefined for anything else. */
export const agentIdOfKey = (key: string): string | undefined => idOfKey(AGENT_KEY_PREFIX, key);

export const generateOperatorKey = (operatorId: string): string =>
  generateKey(OPERATOR_KEY_PREFIX, operatorId);

/** The operator id a well-formed operator key names, or undefined for anything else. */
export const operatorIdOfKey = (key: string): string | undefined => idOfKey(OPERATOR_KEY_PREFIX, key);

export const sha256Hex = async (text: string): Promise<string> => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
};

export const hashApiKey = sha256Hex;
