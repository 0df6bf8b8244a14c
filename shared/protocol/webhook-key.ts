import * as z from "zod";

/** An Ed25519 public key, raw 32 bytes, as base64url without padding (a JWK's `x`). */
export const ED25519_PUBLIC_KEY = /^[A-Za-z0-9_-]{43}$/;
/** A key id: base64url of the first 12 bytes of the raw public key's SHA-256 (shared/webhook.ts). */
export const WEBHOOK_KEY_ID = /^[A-Za-z0-9_-]{16}$/;

/**
 * How long a runner's webhook key stays listed after the runner last published it. It must
 * outlast every webhook signed with it that a receiver may still be verifying (the signature's
 * 5-minute tolerance, a receiver's cached copy of the list), so that a runner that restarts with a
 * new key, or stops, leaves the signatures it made valid for that long; after it, the key ages out.
 */
export const WEBHOOK_KEY_GRACE_MS = 60 * 60 * 1000;

/**
 * A runner's webhook public key, `hypercode:webhook_keys` field <kid> (JSON), written by the
 * runner every publish interval (runner/webhook-key.ts) and read by the intake
 * (`GET /v1/webhook-keys`). Only the public half is here: whoever reads Redis cannot sign with it.
 */
export const webhookKeyRecord = z
  .object({
    kid: z.string().regex(WEBHOOK_KEY_ID),
    public_key: z.string().regex(ED25519_PUBLIC_KEY),
    runner_id: z.string(),
    seen_at: z.string(),
    /** ms since the epoch; the record is dropped from the list (and pruned) after it. */
    expires_at: z.number().int(),
  })
  .strict();
export type WebhookKeyRecord = z.infer<typeof webhookKeyRecord>;
