import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PolicyRefusal } from "../../runner/errors.js";
import type { Keys } from "../../shared/keys.js";
import { ACTIONS, type DeploymentEvent, deploymentEvent, statusRecord } from "../../shared/protocol/index.js";
import { addAgent } from "../support/fixtures.js";
import { testClient } from "../support/redis.js";
import {
  deadLetters,
  enqueue,
  newGate,
  newRequest,
  pendingEntries,
  perTestPrefix,
  startTestRunner,
  statusOf,
  TestDeployer,
  timeline,
  waitFor,
  waitForState,
} from "../support/runner.js";

let client: Redis;
let prefix: string;
let k: Keys;
perTestPrefix((t) => ({ client, prefix, k } = t));
// Their agent, registered as an operator would: direct entries are checked like submissions.
beforeEach(() => addAgent(client, prefix, { id: "coder-agent", targets: ["*"], actions: [...ACTIONS] }));

/** Exactly what the original system's model writes with `model_dump_json()`. */
const upstreamJson = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: randomUUID(),
    agent_id: "coder-agent",
    target_agent: "test-agent",
    improvement_type: "performance",
    description: "Optimizing build settings",
    payload: { action: "redeploy" },
    priority: 1,
    files_changed: [],
    test_results: null,
    status: "proposed",
    timestamp: "2026-12-01T23:34:55.317444",
    ...over,
  });

/** The agents' side of the events: a subscriber on both channels, as upstream's listeners are. */
const subscribers: Redis[] = [];
afterEach(async () => {
  for (const s of subscribers.splice(0)) await s.quit();
});
const listen = async () => {
  const sub = testClient();
  subscribers.push(sub);
  const heard: { channel: string; event: DeploymentEvent }[] = [];
  sub.on("message", (channel: string, message: string) =>
    heard.push({ channel, event: deploymentEvent.parse(JSON.parse(message)) }),
  );
  await sub.subscribe(k.deploymentSuccess, k.deploymentFailure);
  return heard;
};

describe("runner: the original HyperCode system's agents", () => {
  it("runs their XADD under their own id and tells them on events:deployment:success", async () => {
    const heard = await listen();
    const logLines: string[] = [];
    const t = await startTestRunner(prefix, { logLines });
    const payload = upstreamJson({
      priority: 5,
      files_changed: ["src/app.py"],
      test_results: { passed: 12 },
    });
    const id = JSON.parse(payload).id as string;
    await client.xadd(k.requestStream, "*", "payload", payload);

    const s = await waitForState(client, prefix, id, "succeeded");
    // Every field the runner wrote is one the shared schema knows.
    expect(() => statusRecord.strict().parse(s)).not.toThrow();
    expect(JSON.parse(s.request as string)).toMatchObject({
      request_id: id,
      priority: "high",
      files_changed: ["src/app.py"],
      test_results: { passed: 12 },
      timestamp: "2026-12-01T23:34:55.317444Z",
    });
    expect(t.deployer.calls.map((c) => c.requestId)).toEqual([id]);
    expect(logLines.map((l) => JSON.parse(l).msg)).toContain(
      `Processing improvement request: ${id} for test-agent`,
    );
    await waitFor("the success event", () => heard.length === 1);
    expect(heard[0]?.channel).toBe(k.deploymentSuccess);
    expect(heard[0]?.event).toMatchObject({
      request_id: id,
      agent: "test-agent",
      success: true,
      state: "succeeded",
      evolution_status: "completed",
      revision: "r1",
      image: "test-agent:r1",
    });
    expect(JSON.stringify(heard[0]?.event)).toMatch(/queued[^"]*running[^"]*succeeded: rolled out/);
    expect(await deadLetters(client, prefix)).toEqual([]);
  });

  it("runs a retried XADD of the same request once: the second entry is acked and noted as a duplicate", async () => {
    const heard = await listen();
    const payload = upstreamJson();
    const id = JSON.parse(payload).id as string;
    // Upstream has no idempotency of its own: a retry is the very same JSON again.
    await client.xadd(k.requestStream, "*", "payload", payload);
    const second = await client.xadd(k.requestStream, "*", "payload", payload);
    const { deployer } = await startTestRunner(prefix);
    await waitForState(client, prefix, id, "succeeded");
    await waitFor("both entries acked", async () => (await pendingEntries(client, prefix)).length === 0);
    await waitFor(
      "the duplicate to be noted",
      async () => (await statusOf(client, prefix, id)).duplicates === "1",
    );

    expect(deployer.calls).toHaveLength(1);
    const notes = (await timeline(client, prefix, id)).map((e) => e.detail);
    expect(notes).toContain(
      `stream entry ${second} asked the same again under this id: acknowledged, not run twice`,
    );
    expect(await deadLetters(client, prefix)).toEqual([]);
    await waitFor("one event", () => heard.length === 1);
    await sleep(200);
    expect(heard).toHaveLength(1);
  });

  it("dead-letters a different request under an id already taken, and tells no one on the first one's id", async () => {
    const heard = await listen();
    const t = await startTestRunner(prefix);
    const first = upstreamJson();
    const id = JSON.parse(first).id as string;
    await client.xadd(k.requestStream, "*", "payload", first);
    await waitForState(client, prefix, id, "succeeded");
    await client.xadd(k.requestStream, "*", "payload", upstreamJson({ id, payload: { action: "restart" } }));
    await waitFor(
      "the reuse to be dead-lettered",
      async () => (await deadLetters(client, prefix)).length === 1,
    );
    const [dl] = await deadLetters(client, prefix);
    expect(dl?.reason).toMatch(new RegExp(`id '${id}' already names a different request`));
    expect(t.deployer.calls).toHaveLength(1);
    expect((await statusOf(client, prefix, id)).state).toBe("succeeded");
    await sleep(200);
    expect(heard.map((h) => h.event.success)).toEqual([true]);
  });

  it("tells them on events:deployment:failure when the runner refuses, or cannot read, what they sent", async () => {
    const heard = await listen();
    const deployer = new TestDeployer("runner-a");
    deployer.refuse = (r) =>
      r.payload.action === "restart"
        ? new PolicyRefusal("action_not_enabled", "restart is not enabled on test-agent")
        : undefined;
    await startTestRunner(prefix, { deployer });
    const refused = upstreamJson({ payload: { action: "restart" } });
    const unknown = upstreamJson({ payload: { action: "delete_everything" } });
    await client.xadd(k.requestStream, "*", "payload", refused);
    await client.xadd(k.requestStream, "*", "payload", unknown);

    await waitFor("two failure events", () => heard.length === 2);
    expect(heard.every((h) => h.channel === k.deploymentFailure)).toBe(true);
    const byId = new Map(heard.map((h) => [h.event.request_id, h.event]));
    expect(byId.get(JSON.parse(refused).id)).toMatchObject({
      success: false,
      state: "rejected",
      evolution_status: "failed",
      error: "restart is not enabled on test-agent",
      agent: "test-agent",
    });
    expect(byId.get(JSON.parse(unknown).id)).toMatchObject({
      success: false,
      state: "dead_lettered",
      action: "delete_everything",
      error: expect.stringMatching(/payload.action/),
    });
    expect(deployer.calls).toHaveLength(0);
  });

  it("announces requests coalesced into another with the outcome of the deploy that carried them", async () => {
    const heard = await listen();
    const gate = newGate();
    const deployer = new TestDeployer("runner-a", async (ctx) => {
      if (ctx.request.request_id === first) await gate.wait;
      return { state: "succeeded", detail: "rolled out" };
    });
    await startTestRunner(prefix, { deployer });
    const [first, carrier, carried] = [randomUUID(), randomUUID(), randomUUID()];
    await client.xadd(k.requestStream, "*", "payload", upstreamJson({ id: first }));
    await waitFor("the first deploy to start", () => deployer.calls.length === 1);
    // Through the intake: only admitted entries are coalesced (a direct one is checked on its own).
    for (const id of [carrier, carried])
      await enqueue(client, prefix, newRequest({ action: "redeploy" }, { request_id: id }));
    gate.open();
    await waitForState(client, prefix, carrier, "succeeded");
    expect((await statusOf(client, prefix, carried)).state).toBe("coalesced");
    await waitFor("three events", () => heard.length === 3);
    expect(heard.find((h) => h.event.request_id === carried)?.event).toMatchObject({
      success: true,
      state: "coalesced",
      evolution_status: "completed",
      coalesced_into: carrier,
    });
    expect((await statusOf(client, prefix, carried)).carrier_state).toBe("succeeded");
  });
});
