import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { hashApiKey } from "../../shared/api-key.js";
import { encodeStreamFields } from "../../shared/protocol/index.js";
import {
  SIGNATURE_HEADER,
  signWebhook,
  verifyWebhook,
  type WebhookSigningKey,
} from "../../shared/webhook.js";
import { addAgent } from "../support/fixtures.js";
import { type PerTest, perTestPrefix, startTestRunner, waitFor } from "../support/runner.js";
import { hmacSha256, servedWebhookKeys, startReceiver } from "../support/webhook-receiver.js";

/** Every string a reader of Redis sees under `prefix`: keys, fields, values, and strings inside JSON. */
const readEverything = async (client: Redis, prefix: string): Promise<Set<string>> => {
  const seen = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v === "string") {
      seen.add(v);
      try {
        const parsed: unknown = JSON.parse(v);
        if (typeof parsed === "object" && parsed !== null) add(parsed);
      } catch {}
    } else if (Array.isArray(v)) v.forEach(add);
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(add);
  };
  for (const key of await client.keys(`${prefix}*`)) {
    add(key);
    const type = await client.type(key);
    if (type === "string") add(await client.get(key));
    else if (type === "hash") add(Object.entries(await client.hgetall(key)));
    else if (type === "set") add(await client.smembers(key));
    else if (type === "zset") add(await client.zrange(key, 0, -1));
    else if (type === "list") add(await client.lrange(key, 0, -1));
    else if (type === "stream") add(await client.xrange(key, "-", "+"));
  }
  return seen;
};

/** 32 bytes read as hex, base64 or base64url, taken as an Ed25519 seed (PKCS#8 around it). */
const asSeedKey = async (text: string): Promise<CryptoKey | undefined> => {
  const candidates = [Buffer.from(text, "hex"), Buffer.from(text, "base64"), Buffer.from(text, "base64url")];
  const seed = candidates.find((b) => b.length === 32);
  if (!seed) return undefined;
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  return crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
};

/**
 * Issue 12, item 5: a reader of Redis (a replica, a backup, a read-only ACL, a leaked dump) tries
 * to sign a webhook with anything Redis holds. Before, the HMAC secret was the agent key's hash,
 * which Redis stores; now nothing Redis holds signs.
 */
describe("campaign: webhook forgery by a reader of Redis", () => {
  let t: PerTest;
  perTestPrefix((x) => {
    t = x;
  });

  it("no string Redis holds signs a webhook the intake's keys accept", async () => {
    const receiver = await startReceiver();
    try {
      const apiKey = await addAgent(t.client, t.prefix, {
        id: "coder-agent",
        targets: ["test-agent"],
        actions: ["restart"],
        callbacks: [receiver.base],
      });
      await t.client.xadd(
        t.k.requestStream,
        "*",
        ...encodeStreamFields({
          agent_id: "coder-agent",
          target_agent: "test-agent",
          improvement_type: "performance",
          description: "restart it",
          payload: { action: "restart" },
          request_id: "forge-1",
          created_at: new Date().toISOString(),
          callback_url: `${receiver.base}done`,
        }),
      );
      await startTestRunner(t.prefix);
      await waitFor("the webhook", () => receiver.received.length === 1);
      const real = receiver.received[0] as (typeof receiver.received)[number];
      const keys = await servedWebhookKeys(t.client, t.prefix);
      const now = Math.floor(Date.now() / 1000);
      const header = real.headers[SIGNATURE_HEADER.toLowerCase()] as string;
      expect(await verifyWebhook(keys, header, real.body, now)).toBe(true);

      const kid = keys.keys[0]?.kid as string;
      const forged = real.body.replace('"succeeded"', '"failed"');
      expect(forged).not.toBe(real.body);
      expect(await verifyWebhook(keys, header, forged, now)).toBe(false);

      const everything = await readEverything(t.client, t.prefix);
      // What the old scheme signed with, and the public key, are among what the reader has.
      expect(everything).toContain(await hashApiKey(apiKey));
      expect(everything).toContain(keys.keys[0]?.x);
      const message = `${now}.${forged}`;
      let tried = 0;
      for (const s of everything) {
        const mac = await hmacSha256(s, message);
        const hex = Buffer.from(mac).toString("hex");
        const headers = [
          `t=${now},v1=${hex}`,
          `t=${now},kid=${kid},v1=${hex}`,
          `t=${now},kid=${kid},ed25519=${Buffer.from(mac).toString("base64url")}`,
        ];
        const seedKey = await asSeedKey(s).catch(() => undefined);
        if (seedKey) {
          const asKey: WebhookSigningKey = { kid, publicKey: keys.keys[0]?.x as string, privateKey: seedKey };
          headers.push(await signWebhook(asKey, now, forged));
        }
        for (const h of headers) {
          tried++;
          expect(await verifyWebhook(keys, h, forged, now), `forged with ${JSON.stringify(s)}`).toBe(false);
        }
      }
      expect(tried).toBeGreaterThan(3 * 20);
    } finally {
      await receiver.close();
    }
  });
});
