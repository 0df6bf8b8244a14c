import { generateKeyPairSync, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashApiKey } from "../../shared/api-key.js";
import {
  callbackAllowed,
  generateWebhookKey,
  importWebhookKeyPem,
  normaliseCallbackPrefix,
  signWebhook,
  verifyWebhook,
} from "../../shared/webhook.js";
import { hmacSha256 } from "../support/webhook-receiver.js";

describe("webhook signatures", () => {
  const body = '{"request_id":"r1","status":"succeeded"}';
  const t = 1_764_000_000;

  it("verify with the published public key and refuse a changed body, another key or an old timestamp", async () => {
    const key = await generateWebhookKey();
    const other = await generateWebhookKey();
    const header = await signWebhook(key, t, body);
    expect(header).toMatch(/^t=1764000000,kid=[A-Za-z0-9_-]{16},ed25519=[A-Za-z0-9_-]{86}$/);
    const listed = [{ kid: key.kid, x: key.publicKey }];
    expect(await verifyWebhook(listed, header, body, t + 100)).toBe(true);
    // The endpoint's whole body works too, and a list with other keys beside it.
    expect(
      await verifyWebhook({ keys: [{ kid: other.kid, x: other.publicKey }, ...listed] }, header, body, t),
    ).toBe(true);
    expect(await verifyWebhook(listed, header, `${body} `, t + 100)).toBe(false);
    expect(await verifyWebhook([{ kid: other.kid, x: other.publicKey }], header, body, t + 100)).toBe(false);
    // The right kid with another key's bytes: the signature decides, not the id.
    expect(await verifyWebhook([{ kid: key.kid, x: other.publicKey }], header, body, t + 100)).toBe(false);
    expect(await verifyWebhook(listed, header, body, t + 1000)).toBe(false);
    expect(await verifyWebhook(listed, header.replace(/^t=\d+/, `t=${t + 1}`), body, t)).toBe(false);
    expect(await verifyWebhook([], header, body, t)).toBe(false);
    for (const garbage of ["garbage", "", "t=,kid=,ed25519=", `t=${t},kid=${key.kid},ed25519=%%%`])
      expect(await verifyWebhook(listed, garbage, body, t), garbage).toBe(false);
  });

  it("cannot be forged from what Redis holds: an HMAC under the agent key's hash does not verify", async () => {
    const key = await generateWebhookKey();
    const listed = [{ kid: key.kid, x: key.publicKey }];
    const mac = await hmacSha256(await hashApiKey("hc1.coder.secret"), `${t}.${body}`);
    const hex = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
    // The old header, and the new one carrying the HMAC where the signature goes.
    expect(await verifyWebhook(listed, `t=${t},v1=${hex}`, body, t)).toBe(false);
    expect(await verifyWebhook(listed, `t=${t},kid=${key.kid},v1=${hex}`, body, t)).toBe(false);
    const b64 = Buffer.from(mac).toString("base64url");
    expect(await verifyWebhook(listed, `t=${t},kid=${key.kid},ed25519=${b64}`, body, t)).toBe(false);
  });

  it("load a PKCS#8 PEM key with a stable kid, and sign what any Ed25519 verifier accepts", async () => {
    const pair = generateKeyPairSync("ed25519");
    const pem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const a = await importWebhookKeyPem(pem);
    const b = await importWebhookKeyPem(pem);
    expect(a.kid).toBe(b.kid);
    expect(a.publicKey).toBe(pair.publicKey.export({ format: "jwk" }).x);
    expect(a.privateKey.extractable).toBe(false);
    const header = await signWebhook(a, t, body);
    const signature = Buffer.from(header.split("ed25519=")[1] as string, "base64url");
    // node:crypto, not WebCrypto: a receiver in another stack verifies the same bytes.
    expect(verify(null, Buffer.from(`${t}.${body}`), pair.publicKey, signature)).toBe(true);
    await expect(importWebhookKeyPem("not a key")).rejects.toThrow(/PEM/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    await expect(
      importWebhookKeyPem(rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
    ).rejects.toThrow(/Ed25519/);
  });
});

describe("callback prefixes", () => {
  it("are canonical and cannot be stretched to another host", () => {
    expect(normaliseCallbackPrefix("https://hooks.example.com")).toBe("https://hooks.example.com/");
    expect(normaliseCallbackPrefix("https://hooks.example.com/agents")).toBe(
      "https://hooks.example.com/agents/",
    );
    for (const bad of ["ftp://x/", "https://u:p@x/", "https://x/?q=1", "https://x/#f", "not a url"]) {
      expect(normaliseCallbackPrefix(bad), bad).toBeUndefined();
    }
    const allowed = [normaliseCallbackPrefix("https://hooks.example.com") as string];
    expect(callbackAllowed("https://hooks.example.com/done", allowed)).toBe(true);
    expect(callbackAllowed("https://hooks.example.com.evil.io/done", allowed)).toBe(false);
    expect(callbackAllowed("https://hooks.example.com@evil.io/", allowed)).toBe(false);
    expect(callbackAllowed("http://hooks.example.com/done", allowed)).toBe(false);
  });
});
