import type { Redis } from "ioredis";
import { beforeEach, describe, expect, it } from "vitest";
import type { Keys } from "../../shared/keys.js";
import { encodeStreamFields } from "../../shared/protocol/index.js";
import { addAgent, revokeAgent } from "../support/fixtures.js";
import { testClient } from "../support/redis.js";
import {
  deadLetters,
  enqueue,
  newRequest,
  perTestPrefix,
  startTestRunner,
  statusOf,
  waitFor,
  waitForState,
} from "../support/runner.js";

let client: Redis;
let prefix: string;
let k: Keys;
perTestPrefix((t) => ({ client, prefix, k } = t));

/** An entry as an agent XADDs it itself: no status record comes with it. */
const direct = (agent: string, payload = { action: "restart" as const }, over = {}) => {
  const r = newRequest(payload, { agent_id: agent, ...over });
  const { created_at: _, ...written } = r;
  return { request: r, write: () => client.xadd(k.requestStream, "*", "payload", JSON.stringify(written)) };
};

describe("direct writers (issue 12): entries written straight to the stream are held to what the agent's key may do", () => {
  beforeEach(() =>
    addAgent(client, prefix, { id: "coder-agent", targets: ["test-agent"], actions: ["restart"], rate: 3 }),
  );

  it("runs an entry of a known agent within its scope", async () => {
    const { deployer } = await startTestRunner(prefix);
    const e = direct("coder-agent");
    await e.write();
    await waitForState(client, prefix, e.request.request_id, "succeeded");
    expect(deployer.calls).toHaveLength(1);
  });

  it("dead-letters an entry that names no registered agent, or a revoked one, without touching the target", async () => {
    await addAgent(client, prefix, { id: "old-agent", targets: ["*"], actions: ["restart"] });
    await revokeAgent(client, prefix, "old-agent");
    // An agent whose operator forgot to register it hears why on its failure channel.
    const sub = testClient();
    const heard: string[] = [];
    sub.on("message", (_channel: string, message: string) => heard.push(message));
    await sub.subscribe(k.deploymentFailure);
    const { deployer } = await startTestRunner(prefix);
    const ghost = direct("ghost");
    await ghost.write();
    await direct("old-agent").write();
    await waitFor("two dead letters", async () => (await deadLetters(client, prefix)).length === 2);
    await waitFor("the ghost's failure event", () => heard.length >= 1);
    await sub.quit();
    expect(JSON.parse(heard[0] as string)).toMatchObject({
      request_id: ghost.request.request_id,
      success: false,
      state: "dead_lettered",
      error: expect.stringMatching(/not registered/),
    });
    const reasons = (await deadLetters(client, prefix)).map((l) => l.reason);
    expect(reasons[0]).toMatch(/agent 'ghost' is not registered \('hypercode agents add ghost'/);
    expect(reasons[1]).toMatch(/agent 'old-agent' was revoked at/);
    expect(deployer.calls).toHaveLength(0);
  });

  it("rejects what is outside the agent's targets or actions, with the refusal the intake would give", async () => {
    const { deployer } = await startTestRunner(prefix);
    const otherTarget = direct("coder-agent", { action: "restart" }, { target_agent: "billing" });
    const otherAction = direct("coder-agent", { action: "redeploy" } as never);
    await otherTarget.write();
    await otherAction.write();
    const a = await waitForState(client, prefix, otherTarget.request.request_id, "rejected");
    const b = await waitForState(client, prefix, otherAction.request.request_id, "rejected");
    expect(a).toMatchObject({ refusal_code: "target_out_of_scope" });
    expect(a.detail).toMatch(/may not request changes to 'billing' \(allowed: test-agent\)/);
    expect(b).toMatchObject({ refusal_code: "action_out_of_scope" });
    expect(deployer.calls).toHaveLength(0);
  });

  it("counts direct entries against the agent's rate limit, as submissions over HTTP are", async () => {
    const { deployer } = await startTestRunner(prefix);
    const entries = [1, 2, 3, 4].map(() => direct("coder-agent"));
    for (const e of entries) await e.write();
    const last = entries[3]?.request.request_id as string;
    // Three within the limit, the fourth refused. (Direct entries are not coalesced before they are admitted.)
    for (const e of entries.slice(0, 3))
      await waitForState(client, prefix, e.request.request_id, "succeeded");
    expect(await waitForState(client, prefix, last, "rejected")).toMatchObject({
      refusal_code: "agent_rate_limited",
    });
    expect(deployer.calls).toHaveLength(3);
  });

  it("with DIRECT_ENTRIES=off dead-letters every direct entry and still runs the intake's", async () => {
    const { deployer } = await startTestRunner(prefix, { env: { DIRECT_ENTRIES: "off" } });
    await direct("coder-agent").write();
    const viaIntake = newRequest({ action: "restart" });
    await enqueue(client, prefix, viaIntake);
    await waitForState(client, prefix, viaIntake.request_id, "succeeded");
    await waitFor(
      "the direct entry dead-lettered",
      async () => (await deadLetters(client, prefix)).length === 1,
    );
    expect((await deadLetters(client, prefix))[0]?.reason).toMatch(/DIRECT_ENTRIES=off/);
    expect(deployer.calls.map((c) => c.requestId)).toEqual([viaIntake.request_id]);
  });

  it("never attaches a direct writer's chosen id to another agent's request", async () => {
    await addAgent(client, prefix, { id: "other-agent", targets: ["test-agent"], actions: ["restart"] });
    const { deployer } = await startTestRunner(prefix);
    const theirs = newRequest({ action: "restart" }, { agent_id: "other-agent" });
    await enqueue(client, prefix, theirs);
    await waitForState(client, prefix, theirs.request_id, "succeeded");
    await client.xadd(
      k.requestStream,
      "*",
      ...encodeStreamFields({ ...theirs, agent_id: "coder-agent", description: "mine now" }),
    );
    await waitFor("the reuse dead-lettered", async () => (await deadLetters(client, prefix)).length === 1);
    expect(await statusOf(client, prefix, theirs.request_id)).toMatchObject({
      agent_id: "other-agent",
      state: "succeeded",
    });
    expect(deployer.calls).toHaveLength(1);
  });
});
