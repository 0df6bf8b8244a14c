import { readFile } from "node:fs/promises";
import type { Keys } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import { WEBHOOK_KEY_GRACE_MS, webhookKeyRecord } from "../shared/protocol/index.js";
import type { RedisPort } from "../shared/redis/port.js";
import { runJsonScript } from "../shared/redis/run-script.js";
import { generateWebhookKey, importWebhookKeyPem, type WebhookSigningKey } from "../shared/webhook.js";

/**
 * The runner's webhook signing key: from `WEBHOOK_KEY_FILE` (PKCS#8 PEM) when set, else a fresh
 * key held in memory only. A fresh key per start costs nothing to run (no secret on disk, a
 * read-only container works) and the old key stays listed through the grace, so receivers that
 * fetch the list on an unknown kid never notice; a file is for operators who want a stable kid
 * across restarts, to pin it at receivers.
 */
export const loadWebhookKey = async (file: string | undefined): Promise<WebhookSigningKey> => {
  if (file === undefined) return generateWebhookKey();
  const pem = await readFile(file, "utf8").catch((err: Error) => {
    throw new Error(`WEBHOOK_KEY_FILE: cannot read ${file}: ${err.message}`);
  });
  return importWebhookKeyPem(pem).catch((err: Error) => {
    throw new Error(`WEBHOOK_KEY_FILE: ${file}: ${err.message}`);
  });
};

export interface PublishKeyDeps {
  readonly redis: RedisPort;
  readonly keys: Keys;
  readonly runnerId: string;
  readonly key: Pick<WebhookSigningKey, "kid" | "publicKey">;
  readonly now: number;
}

/** Lists the public half for the intake to serve, for the grace from now; prunes expired keys. */
export const publishWebhookKey = async (d: PublishKeyDeps): Promise<void> => {
  const record = webhookKeyRecord.parse({
    kid: d.key.kid,
    public_key: d.key.publicKey,
    runner_id: d.runnerId,
    seen_at: new Date(d.now).toISOString(),
    expires_at: d.now + WEBHOOK_KEY_GRACE_MS,
  });
  await runJsonScript(
    d.redis,
    SCRIPTS.webhook_key_publish,
    [d.keys.webhookKeys],
    [record.kid, JSON.stringify(record), d.now],
  );
};
