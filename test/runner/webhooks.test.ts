import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../shared/api-key.js";
import { encodeStreamFields, type ImprovementRequest } from "../../shared/protocol/index.js";
import { SIGNATURE_HEADER, verifyWebhook } from "../../shared/webhook.js";
import { addAgent } from "../support/fixtures.js";
import { type PerTest, perTestPrefix, startTestRunner, TestDeployer } from "../support/runner.js";

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

/** A real HTTP receiver on loopback that records what it is sent. */
const startReceiver = async (status = 200) => {
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

  it("posts the final status to an allowed callback, signed with the agent's key hash", async () => {
    const receiver = await startReceiver();
    closers.push(receiver.close);
    const key = await addAgent(t.client, t.prefix, {
      id: "coder-agent",
      targets: ["test-agent"],
      actions: ["restart"],
      callbacks: [`${receiver.base}hooks/`],
    });
    await t.client.xadd(
      t.k.requestStream,
      "*",
      ...encodeStreamFields(request("coder-agent", `${receiver.base}hooks/done`, "wh-1")),
    );
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
    const secret = await hashApiKey(key);
    expect(await verifyWebhook(secret, signature, got.body, Math.floor(Date.now() / 1000))).toBe(true);
    await until(async () => (await t.client.hget(t.k.request("wh-1"), "webhook")) === "delivered (HTTP 200)");
  });

  it("refuses a callback the agent's record does not allow, even when the entry was written straight to Redis", async () => {
    const receiver = await startReceiver();
    closers.push(receiver.close);
    await addAgent(t.client, t.prefix, {
      id: "coder-agent",
      targets: ["test-agent"],
      actions: ["restart"],
      callbacks: ["https://hooks.example.com/"],
    });
    await t.client.xadd(
      t.k.requestStream,
      "*",
      ...encodeStreamFields(request("coder-agent", `${receiver.base}x`, "wh-2")),
    );
    await startTestRunner(t.prefix);
    await until(async () =>
      ((await t.client.hget(t.k.request("wh-2"), "webhook")) ?? "").startsWith("refused"),
    );
    expect(receiver.received).toEqual([]);
    expect(await t.client.hget(t.k.request("wh-2"), "state")).toBe("succeeded");
  });

  it("retries a receiver that answers 5xx, then records the failure", async () => {
    const receiver = await startReceiver(503);
    closers.push(receiver.close);
    await addAgent(t.client, t.prefix, {
      id: "coder-agent",
      targets: ["test-agent"],
      actions: ["restart"],
      callbacks: [receiver.base],
    });
    await t.client.xadd(
      t.k.requestStream,
      "*",
      ...encodeStreamFields(request("coder-agent", `${receiver.base}cb`, "wh-3")),
    );
    await startTestRunner(t.prefix);
    await until(
      async () => ((await t.client.hget(t.k.request("wh-3"), "webhook")) ?? "").startsWith("failed"),
      15_000,
    );
    expect(receiver.received).toHaveLength(3);
    expect(await t.client.hget(t.k.request("wh-3"), "webhook")).toBe("failed: HTTP 503");
  });
});
