import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { publishWebhookKey } from "../../runner/webhook-key.js";
import { hashApiKey } from "../../shared/api-key.js";
import {
  encodeStreamFields,
  type ImprovementRequest,
  WEBHOOK_KEY_GRACE_MS,
  webhookKeyRecord,
} from "../../shared/protocol/index.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import { importWebhookKeyPem, SIGNATURE_HEADER, verifyWebhook } from "../../shared/webhook.js";
import { addAgent } from "../support/fixtures.js";
import { type PerTest, perTestPrefix, startTestRunner, TestDeployer } from "../support/runner.js";
import { hmacSha256, type Received, servedWebhookKeys, startReceiver } from "../support/webhook-receiver.js";

const until = async (check: () => Promise<boolean> | boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await sleep(25);
  }
};

describe("runner: signed completion webhooks", () => {
  let t: PerTest;
  perTestPrefix((x) => {
    t = x;
  });
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  const request = (agent: string, callback: string, id: string): ImprovementRequest => ({
    agent_id: agent,
    target_agent: "test-agent",
    improvement_type: "performance",
    description: "restart it",
    payload: { action: "restart" },
    request_id: id,
    created_at: new Date().toISOString(),
    callback_url: callback,
  });

  /** A receiver, and the agent "coder-agent" whose record allows the callbacks `allowed` names. */
  const receiverAndAgent = async (allowed: (base: string) => string[], status = 200) => {
    const receiver = await startReceiver(status);
    closers.push(receiver.close);
    const key = await addAgent(t.client, t.prefix, {
      id: "coder-agent",
      targets: ["test-agent"],
      actions: ["restart"],
      callbacks: allowed(receiver.base),
    });
    return { receiver, key };
  };

  const submit = (agent: string, callback: string, id: string) =>
    t.client.xadd(t.k.requestStream, "*", ...encodeStreamFields(request(agent, callback, id)));

  it("posts the final status to an allowed callback, signed with the runner's key that the intake serves", async () => {
    const { receiver, key } = await receiverAndAgent((base) => [`${base}hooks/`]);
    await submit("coder-agent", `${receiver.base}hooks/done`, "wh-1");
    const imageId = `sha256:${"cd".repeat(32)}`;
    const deployer = new TestDeployer("runner-a", async () => ({
      state: "succeeded",
      detail: "rolled out",
      revision: "r1",
      image: "test-agent:r1",
      imageId,
      carriedOutAs: "restart",
    }));
    await startTestRunner(t.prefix, { deployer });
    await until(() => receiver.received.length === 1);

    const got = receiver.received[0] as Received;
    const body = JSON.parse(got.body);
    expect(body).toMatchObject({
      request_id: "wh-1",
      agent_id: "coder-agent",
      status: "succeeded",
      action: "restart",
      revision: "r1",
      image: "test-agent:r1",
      image_id: imageId,
      carried_out_as: "restart",
    });
    expect(got.headers["hypercode-delivery"]).toBe("wh-1:succeeded");
    const signature = got.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    const now = Math.floor(Date.now() / 1000);
    const published = await servedWebhookKeys(t.client, t.prefix);
    expect(published.keys).toHaveLength(1);
    expect(await verifyWebhook(published, signature, got.body, now)).toBe(true);

    // Redis holds the public key only: the record has nothing else, and what a reader of Redis
    // can compute (an HMAC under the agent key's hash, the old secret) is no signature.
    const records = Object.values(await t.client.hgetall(t.k.webhookKeys));
    expect(records.map((r) => webhookKeyRecord.parse(JSON.parse(r)).runner_id)).toEqual(["runner-a"]);
    const ts = /t=(\d+)/.exec(signature)?.[1];
    const mac = Buffer.from(await hmacSha256(await hashApiKey(key), `${ts}.${got.body}`)).toString("hex");
    const kid = published.keys[0]?.kid;
    expect(await verifyWebhook(published, `t=${ts},v1=${mac}`, got.body, now)).toBe(false);
    expect(
      await verifyWebhook(
        published,
        `t=${ts},kid=${kid},ed25519=${Buffer.from(mac, "hex").toString("base64url")}`,
        got.body,
        now,
      ),
    ).toBe(false);
    await until(async () => (await t.client.hget(t.k.request("wh-1"), "webhook")) === "delivered (HTTP 200)");
  });

  it("refuses a callback the agent's record does not allow, even when the entry was written straight to Redis", async () => {
    const { receiver } = await receiverAndAgent(() => ["https://hooks.example.com/"]);
    await submit("coder-agent", `${receiver.base}x`, "wh-2");
    await startTestRunner(t.prefix);
    await until(async () =>
      ((await t.client.hget(t.k.request("wh-2"), "webhook")) ?? "").startsWith("refused"),
    );
    expect(receiver.received).toEqual([]);
    expect(await t.client.hget(t.k.request("wh-2"), "state")).toBe("succeeded");
  });

  it("retries a receiver that answers 5xx, then records the failure", async () => {
    const { receiver } = await receiverAndAgent((base) => [base], 503);
    await submit("coder-agent", `${receiver.base}cb`, "wh-3");
    await startTestRunner(t.prefix);
    await until(
      async () => ((await t.client.hget(t.k.request("wh-3"), "webhook")) ?? "").startsWith("failed"),
      15_000,
    );
    expect(receiver.received).toHaveLength(3);
    expect(await t.client.hget(t.k.request("wh-3"), "webhook")).toBe("failed: HTTP 503");
  });

  it("rotates keys: a restarted runner's new key is listed beside the old, and the old ages out after the grace", async () => {
    const { receiver } = await receiverAndAgent((base) => [base]);
    // The first life signs with a key from a file, the second with a fresh key (no file).
    const dir = await mkdtemp(join(tmpdir(), "hc-webhook-key-"));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await writeFile(join(dir, "key.pem"), pem, { mode: 0o600 });
    const fileKid = (await importWebhookKeyPem(pem)).kid;

    await submit("coder-agent", `${receiver.base}a`, "rot-1");
    const first = await startTestRunner(t.prefix, { env: { WEBHOOK_KEY_FILE: join(dir, "key.pem") } });
    await until(() => receiver.received.length === 1);
    await first.stop();
    const second = await startTestRunner(t.prefix);
    await submit("coder-agent", `${receiver.base}b`, "rot-2");
    await until(() => receiver.received.length === 2);
    const startedAt = Date.now();

    const [a, b] = receiver.received as [Received, Received];
    const sigA = a.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    const sigB = b.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(sigA).toContain(`kid=${fileKid},`);
    const kidB = /kid=([^,]+)/.exec(sigB)?.[1] as string;
    expect(kidB).not.toBe(fileKid);
    const tA = Number(/t=(\d+)/.exec(sigA)?.[1]);
    const tB = Number(/t=(\d+)/.exec(sigB)?.[1]);

    // Both listed while both are within the grace: each webhook verifies with the list.
    const both = await servedWebhookKeys(t.client, t.prefix);
    expect(both.keys.map((k) => k.kid).sort()).toEqual([fileKid, kidB].sort());
    expect(await verifyWebhook(both, sigA, a.body, tA)).toBe(true);
    expect(await verifyWebhook(both, sigB, b.body, tB)).toBe(true);

    // An hour on: the live runner has kept publishing its key; the stopped one's has expired.
    await second.stop();
    const later = startedAt + WEBHOOK_KEY_GRACE_MS + 1000;
    await publishWebhookKey({
      redis: new IoredisAdapter(t.client),
      keys: t.k,
      runnerId: "runner-a",
      key: { kid: kidB, publicKey: both.keys.find((k) => k.kid === kidB)?.x as string },
      now: later - 1000,
    });
    const after = await servedWebhookKeys(t.client, t.prefix, later);
    expect(after.keys.map((k) => k.kid)).toEqual([kidB]);
    expect(await verifyWebhook(after, sigA, a.body, tA)).toBe(false);
    expect(await verifyWebhook(after, sigB, b.body, tB)).toBe(true);
    // and the expired record was pruned by that publish, not only hidden.
    expect(Object.keys(await t.client.hgetall(t.k.webhookKeys))).toEqual([kidB]);
  });

  it("refuses to start with a WEBHOOK_KEY_FILE it cannot use, naming the setting", async () => {
    const r = await startTestRunner(t.prefix, {
      env: { WEBHOOK_KEY_FILE: "/nonexistent/key.pem" },
      start: false,
    });
    await expect(r.runner.start()).rejects.toThrow(/WEBHOOK_KEY_FILE: cannot read \/nonexistent\/key.pem/);
    expect(await t.client.exists(t.k.webhookKeys)).toBe(0);
  });
});
