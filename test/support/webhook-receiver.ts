import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import { createApp } from "../../edge/app.js";
import { parseIntakeConfig } from "../../edge/config.js";
import { type WebhookKeys, webhookKeysSchema } from "../../shared/protocol/index.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";

export interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

/** A real HTTP receiver on loopback that records what it is sent. */
export const startReceiver = async (status = 200) => {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { base, received, close: () => new Promise<void>((r) => server.close(() => r())) };
};

/** What `GET /v1/webhook-keys` answers at `now`, from the intake app in process. */
export const servedWebhookKeys = async (
  client: Redis,
  prefix: string,
  now = Date.now(),
): Promise<WebhookKeys> => {
  const app = createApp({
    redis: new IoredisAdapter(client),
    config: parseIntakeConfig({ KEY_PREFIX: prefix }),
    clock: () => now,
    newId: () => crypto.randomUUID(),
    runtime: "node",
  });
  const res = await app.request("/v1/webhook-keys");
  if (res.status !== 200) throw new Error(`GET /v1/webhook-keys answered ${res.status}`);
  return webhookKeysSchema.parse(await res.json());
};

/** HMAC-SHA256 under `secret`: what a reader of Redis could compute with a secret Redis holds. */
export const hmacSha256 = async (secret: string, message: string): Promise<Uint8Array> => {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message)));
};
