import { describe, expect, it } from "vitest";
import {
  callbackAllowed,
  normaliseCallbackPrefix,
  signWebhook,
  verifyWebhook,
} from "../../shared/webhook.js";

describe("webhook signatures", () => {
  it("verify under the right secret and refuse a changed body, another secret or an old timestamp", async () => {
    const body = '{"request_id":"r1","status":"succeeded"}';
    const header = await signWebhook("s3cret", 1_764_000_000, body);
    expect(header).toMatch(/^t=1764000000,v1=[0-9a-f]{64}$/);
    expect(await verifyWebhook("s3cret", header, body, 1_764_000_100)).toBe(true);
    expect(await verifyWebhook("s3cret", header, `${body} `, 1_764_000_100)).toBe(false);
    expect(await verifyWebhook("other", header, body, 1_764_000_100)).toBe(false);
    expect(await verifyWebhook("s3cret", header, body, 1_764_001_000)).toBe(false);
    expect(await verifyWebhook("s3cret", "garbage", body, 1_764_000_100)).toBe(false);
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
