import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { PermanentError, PolicyRefusal, TransientError } from "../../runner/errors.js";
import { type Keys, RUNNER_GROUP } from "../../shared/keys.js";
import { addAgent } from "../support/fixtures.js";
import {
  deadLetters,
  enqueue,
  newGate,
  newRequest,
  pendingEntries,
  perTestPrefix,
  readAs,
  startTestRunner,
  statusOf,
  succeedAfter,
  TestDeployer,
  timeline,
  waitFor,
  waitForState,
} from "../support/runner.js";

let client: Redis;
let prefix: string;
let k: Keys;
perTestPrefix((t) => ({ client, prefix, k } = t));

const createGroup = () => client.xgroup("CREATE", k.requestStream, RUNNER_GROUP, "0", "MKSTREAM");

describe("runner: one request end to end", () => {
  it("carries out an intake request: queued → running → deploying → succeeded, acked, logged", async () => {
    const logLines: string[] = [];
    const t = await startTestRunner(prefix, { logLines });
    const r = newRequest({ action: "redeploy" });
    await enqueue(client, prefix, r);

    const done = await waitForState(client, prefix, r.request_id, "succeeded");
    expect(done).toMatchObject({
      detail: "rolled out",
      revision: "r1",
      image: "test-agent:r1",
      deliveries: "1",
    });
    expect((await timeline(client, prefix, r.request_id)).map((e) => e.state)).toEqual([
      "running",
      "deploying",
      "succeeded",
    ]);
    await waitFor("the entry to be acked", async () => (await pendingEntries(client, prefix)).length === 0);
    expect(t.deployer.calls).toHaveLength(1);

    const logs = logLines.map((l) => JSON.parse(l));
    // The upstream listener's line, word for word: its operators grep for it.
    expect(logs.find((l) => l.msg.startsWith("Processing improvement request:"))).toMatchObject({
      msg: `Processing improvement request: ${r.request_id} for test-agent`,
      request_id: r.request_id,
      agent_id: "coder-agent",
      target: "test-agent",
      action: "redeploy",
      deliveries: 1,
    });
    expect(logs.find((l) => l.msg === "Improvement request finished")).toMatchObject({
      request_id: r.request_id,
      outcome: "succeeded",
    });
  });

  it("processes the seed's entry written straight to the stream, under a derived request id", async () => {
    // Exactly what the seed does: no request_id, no created_at, no status record. Its agent is
    // registered, as the runner checks direct entries like submissions.
    await addAgent(client, prefix, { id: "coder-agent", targets: ["test-agent"], actions: ["redeploy"] });
    const entryId = (await client.xadd(
      k.requestStream,
      "*",
      "payload",
      '{"agent_id":"coder-agent","target_agent":"test-agent","improvement_type":"performance","description":"Optimizing build settings","payload":{"action":"redeploy"}}',
    )) as string;
    const t = await startTestRunner(prefix);
    const id = `stream-${entryId}`;
    const status = await waitForState(client, prefix, id, "succeeded");
    expect(status).toMatchObject({
      request_id: id,
      agent_id: "coder-agent",
      target_agent: "test-agent",
      action: "redeploy",
      entry_id: entryId,
    });
    expect((await timeline(client, prefix, id)).map((e) => e.state)).toEqual([
      "queued",
      "running",
      "deploying",
      "succeeded",
    ]);
    expect(t.deployer.calls.map((c) => c.requestId)).toEqual([id]);
  });

  it("acknowledges a redelivered request that already finished, without redoing it", async () => {
    const r = newRequest();
    await enqueue(client, prefix, r);
    await client.hset(k.request(r.request_id), "state", "succeeded");
    const t = await startTestRunner(prefix);
    await waitFor("the entry to be read and acked", async () => {
      const info = (await client.xinfo("GROUPS", k.requestStream)) as unknown[][];
      return (
        info.length === 1 &&
        (await pendingEntries(client, prefix)).length === 0 &&
        String(info[0]?.[7]) !== "0-0"
      );
    });
    expect(t.deployer.calls).toHaveLength(0);
    expect(t.deployer.validations).toBe(0);
    expect(await timeline(client, prefix, r.request_id)).toEqual([]);
  });

  it("rejects what the deployer's policy refuses, without deploying, and goes on", async () => {
    const deployer = new TestDeployer("runner-a");
    deployer.refuse = (r) =>
      r.payload.action === "rollback"
        ? new PolicyRefusal("action_not_enabled", "rollback is not enabled on test-agent")
        : undefined;
    await startTestRunner(prefix, { deployer });
    const refused = newRequest({ action: "rollback" });
    const fine = newRequest({ action: "restart" });
    await enqueue(client, prefix, refused);
    await enqueue(client, prefix, fine);
    const s = await waitForState(client, prefix, refused.request_id, "rejected");
    expect(s).toMatchObject({
      detail: "rollback is not enabled on test-agent",
      refusal_code: "action_not_enabled",
    });
    await waitForState(client, prefix, fine.request_id, "succeeded");
    expect(deployer.calls.map((c) => c.requestId)).toEqual([fine.request_id]);
  });
});

describe("runner: outcomes", () => {
  it("stores a rolled-back outcome with its detail and health log", async () => {
    const deployer = new TestDeployer("runner-a", async (ctx) => {
      await ctx.progress("building", "building test-agent:r2");
      await ctx.progress("deploying", "starting 1 new container");
      return {
        state: "rolled_back",
        detail: "new container never became healthy; old one kept serving",
        image: "test-agent:r2",
        healthLog: "wget: can't connect to remote host: Connection refused",
      };
    });
    await startTestRunner(prefix, { deployer });
    const r = newRequest({ action: "rebuild" });
    await enqueue(client, prefix, r);
    const s = await waitForState(client, prefix, r.request_id, "rolled_back");
    expect(s).toMatchObject({
      detail: "new container never became healthy; old one kept serving",
      image: "test-agent:r2",
      health_log: "wget: can't connect to remote host: Connection refused",
    });
    expect((await timeline(client, prefix, r.request_id)).map((e) => [e.state, e.detail])).toEqual([
      ["running", "runner runner-a started it (delivery 1)"],
      ["building", "building test-agent:r2"],
      ["deploying", "starting 1 new container"],
      ["rolled_back", "new container never became healthy; old one kept serving"],
    ]);
  });

  it("stores a failed build's outcome with the tail of its build log", async () => {
    const deployer = new TestDeployer("runner-a", async (ctx) => {
      await ctx.progress("building", "building test-agent:r2");
      return {
        state: "failed",
        detail: "build of test-agent:r2 failed: exit code 2",
        buildLog: "Step 3/4 : RUN make\nmake: *** No rule to make target 'all'.  Stop.",
      };
    });
    await startTestRunner(prefix, { deployer });
    const r = newRequest({ action: "rebuild" });
    await enqueue(client, prefix, r);
    const s = await waitForState(client, prefix, r.request_id, "failed");
    expect(s).toMatchObject({
      detail: "build of test-agent:r2 failed: exit code 2",
      build_log: "Step 3/4 : RUN make\nmake: *** No rule to make target 'all'.  Stop.",
    });
    expect(s.health_log).toBeUndefined();
  });

  it("stores what a request was carried out as and the image id its new containers run", async () => {
    const imageId = `sha256:${"ab".repeat(32)}`;
    const deployer = new TestDeployer("runner-a", async (ctx) => {
      await ctx.progress("building", "building test-agent:r2");
      await ctx.progress("deploying", "starting 1 new container");
      return {
        state: "succeeded",
        detail: "redeploy carried out as a rebuild (hypercode.redeploy=rebuild): rebuild of test-agent",
        revision: "r2",
        image: "test-agent:r2",
        imageId,
        carriedOutAs: "rebuild",
      };
    });
    await startTestRunner(prefix, { deployer });
    const r = newRequest({ action: "redeploy" });
    await enqueue(client, prefix, r);
    const s = await waitForState(client, prefix, r.request_id, "succeeded");
    expect(s).toMatchObject({
      action: "redeploy",
      carried_out_as: "rebuild",
      image_id: imageId,
      image: "test-agent:r2",
    });
  });

  it("retries when the policy check itself fails for a transient reason, keeping the request queued", async () => {
    const deployer = new TestDeployer("runner-a");
    let checks = 0;
    deployer.refuse = () =>
      ++checks === 1 ? new TransientError("cannot reach the Docker socket") : undefined;
    await startTestRunner(prefix, { deployer });
    const r = newRequest();
    await enqueue(client, prefix, r);
    const s = await waitForState(client, prefix, r.request_id, "succeeded");
    expect(s.deliveries).toBe("2");
    const [note] = await timeline(client, prefix, r.request_id);
    expect(note).toMatchObject({ state: "queued" });
    expect(note?.detail).toMatch(/^attempt 1 of 5 failed \(cannot reach the Docker socket\); retrying at /);
  });
});

describe("runner: consumption", () => {
  it("finishes its own pending entries (a previous life's) before reading new ones", async () => {
    await createGroup();
    const old1 = newRequest({ action: "restart" }, { target_agent: "a1" });
    const old2 = newRequest({ action: "restart" }, { target_agent: "a2" });
    await enqueue(client, prefix, old1);
    await enqueue(client, prefix, old2);
    // runner-a read them, then died before acknowledging.
    await readAs(client, k, "runner-a", 2);
    const fresh = newRequest({ action: "restart" }, { target_agent: "a3" });
    await enqueue(client, prefix, fresh);

    // A long claim idle time: only reading its own pending list first can find the old ones now.
    const t = await startTestRunner(prefix, { env: { CLAIM_IDLE: "10m" } });
    await waitForState(client, prefix, fresh.request_id, "succeeded");
    await waitForState(client, prefix, old2.request_id, "succeeded");
    expect(t.deployer.calls.map((c) => c.requestId)).toEqual([
      old1.request_id,
      old2.request_id,
      fresh.request_id,
    ]);
    expect((await statusOf(client, prefix, old1.request_id)).deliveries).toBe("2");
  });

  it("keeps a job longer than the claim idle time from being stolen by another runner (heartbeat)", async () => {
    const pel: [string, number][] = [];
    const deployerA = new TestDeployer("runner-a", async (ctx) => {
      // Four claim idle times long; look at who holds the entry along the way.
      for (let i = 0; i < 8; i++) {
        await sleep(500);
        const [[, owner, , count] = []] = await pendingEntries(client, prefix);
        pel.push([owner as string, count as number]);
      }
      await ctx.assertLockHeld();
      return { state: "succeeded", detail: "slow but fine" };
    });
    const a = await startTestRunner(prefix, { deployer: deployerA });
    const r = newRequest();
    await enqueue(client, prefix, r);
    await waitFor("runner-a to start the deploy", () => deployerA.calls.length === 1);
    const b = await startTestRunner(prefix, { env: { RUNNER_ID: "runner-b" } });

    await waitForState(client, prefix, r.request_id, "succeeded");
    expect(pel).toHaveLength(8);
    expect(pel.every(([owner, count]) => owner === "runner-a" && count === 1)).toBe(true);
    expect(b.deployer.calls).toHaveLength(0);
    expect(a.deployer.calls).toHaveLength(1);
    expect((await timeline(client, prefix, r.request_id)).filter((e) => e.state === "running")).toHaveLength(
      1,
    );
  });

  it("recreates the group when Redis lost it (a restart without persistence) and goes on", async () => {
    await startTestRunner(prefix);
    const before = newRequest();
    await enqueue(client, prefix, before);
    await waitForState(client, prefix, before.request_id, "succeeded");
    await client.del(k.requestStream); // the stream and its group, as after a restart with no data
    const after = newRequest();
    await enqueue(client, prefix, after);
    await waitForState(client, prefix, after.request_id, "succeeded");
  });

  it("waits for a target locked by another runner without counting a failed delivery", async () => {
    await client.set(k.targetLock("test-agent"), "runner-z#token", "PX", 60_000);
    const t = await startTestRunner(prefix);
    const r = newRequest();
    await enqueue(client, prefix, r);
    await waitFor("a few looks at the locked target", () => t.deployer.validations >= 3);
    expect((await statusOf(client, prefix, r.request_id)).state).toBe("queued");
    expect(t.deployer.calls).toHaveLength(0);

    await client.del(k.targetLock("test-agent"));
    const s = await waitForState(client, prefix, r.request_id, "succeeded");
    expect(s.deliveries).toBe("1");
    expect(t.deployer.attempts.get(r.request_id)).toBe(1);
  });
});

describe("runner: failures", () => {
  it("retries a transient failure with backoff, without holding up other targets, then succeeds", async () => {
    const deployer = new TestDeployer("runner-a", async (ctx, attempt) => {
      if (ctx.request.target_agent === "flaky" && attempt < 3)
        throw new TransientError("Docker is unavailable");
      return { state: "succeeded", detail: `done on attempt ${attempt}` };
    });
    // random = 1: each backoff is its full ceiling, RETRY_BASE * 2^(n-1), so the second target is read meanwhile.
    await startTestRunner(prefix, {
      deployer,
      env: { RETRY_BASE: "300ms", RETRY_MAX: "1s" },
      random: () => 1,
    });
    const flaky = newRequest({ action: "restart" }, { target_agent: "flaky" });
    const other = newRequest({ action: "restart" }, { target_agent: "steady" });
    await enqueue(client, prefix, flaky);
    await enqueue(client, prefix, other);

    const s = await waitForState(client, prefix, flaky.request_id, "succeeded");
    expect(s).toMatchObject({ detail: "done on attempt 3", deliveries: "3" });
    const states = (await timeline(client, prefix, flaky.request_id)).map((e) => `${e.state}`);
    expect(states).toEqual(["running", "queued", "running", "queued", "running", "succeeded"]);
    const retries = (await timeline(client, prefix, flaky.request_id)).filter((e) => e.state === "queued");
    expect(retries[0]?.detail).toMatch(
      /^attempt 1 of 5 failed \(Docker is unavailable\); retrying at \d{4}-/,
    );
    // The other target went through while the flaky one waited for its first retry.
    expect(deployer.calls.map((c) => c.target)).toEqual(["flaky", "steady", "flaky", "flaky"]);
    await waitFor("everything acked", async () => (await pendingEntries(client, prefix)).length === 0);
  });

  it("fails a permanent error at once, without a retry", async () => {
    const deployer = new TestDeployer("runner-a", async () => {
      throw new PermanentError("the build context has no Dockerfile");
    });
    await startTestRunner(prefix, { deployer });
    const r = newRequest({ action: "rebuild" });
    await enqueue(client, prefix, r);
    const s = await waitForState(client, prefix, r.request_id, "failed");
    expect(s.detail).toBe("the build context has no Dockerfile");
    await waitFor("the entry to be acked", async () => (await pendingEntries(client, prefix)).length === 0);
    expect(deployer.attempts.get(r.request_id)).toBe(1);
  });

  it("dead-letters a request after MAX_DELIVERIES transient failures, with the reason and count", async () => {
    const deployer = new TestDeployer("runner-a", async () => {
      throw new TransientError("timed out waiting for the Docker daemon");
    });
    await startTestRunner(prefix, { deployer, env: { MAX_DELIVERIES: "3" } });
    const r = newRequest();
    const entryId = await enqueue(client, prefix, r);
    const s = await waitForState(client, prefix, r.request_id, "dead_lettered");
    expect(s.detail).toBe("gave up after 3 deliveries; last error: timed out waiting for the Docker daemon");
    expect(deployer.attempts.get(r.request_id)).toBe(3);
    const [dl] = await deadLetters(client, prefix);
    expect(dl).toMatchObject({
      entry_id: entryId,
      request_id: r.request_id,
      deliveries: "3",
      reason: s.detail,
    });
    expect(JSON.parse(dl?.fields ?? "{}").payload).toBe(JSON.stringify(r));
    expect(await pendingEntries(client, prefix)).toEqual([]);
  });

  it("dead-letters, without trying it, an entry that was handed out more than MAX_DELIVERIES times", async () => {
    await createGroup();
    const r = newRequest();
    const entryId = await enqueue(client, prefix, r);
    // A poison entry that crashed three runners already: pending on a dead one, delivered 3 times.
    await readAs(client, k, "dead-runner", 1);
    await client.xclaim(
      k.requestStream,
      RUNNER_GROUP,
      "dead-runner",
      0,
      entryId,
      "IDLE",
      60_000,
      "RETRYCOUNT",
      3,
    );
    const t = await startTestRunner(prefix, { env: { MAX_DELIVERIES: "3" } });
    const s = await waitForState(client, prefix, r.request_id, "dead_lettered");
    expect(s.detail).toBe("delivered 4 times, more than 3");
    expect(t.deployer.calls).toHaveLength(0);
    expect((await deadLetters(client, prefix))[0]).toMatchObject({ entry_id: entryId, deliveries: "4" });
  });

  it("dead-letters entries that cannot be decoded and goes on with the next one", async () => {
    const t = await startTestRunner(prefix);
    const noPayload = await client.xadd(k.requestStream, "*", "hello", "world");
    const notJson = await client.xadd(k.requestStream, "*", "payload", "{not json");
    const badSchema = await client.xadd(
      k.requestStream,
      "*",
      "payload",
      JSON.stringify({
        agent_id: "coder-agent",
        target_agent: "test-agent",
        payload: { action: "format_disk" },
      }),
    );
    const good = newRequest();
    await enqueue(client, prefix, good);

    await waitForState(client, prefix, good.request_id, "succeeded");
    const dls = await deadLetters(client, prefix);
    expect(dls.map((d) => d.entry_id)).toEqual([noPayload, notJson, badSchema]);
    expect(dls[0]).toMatchObject({ reason: "entry has no 'payload' field", deliveries: "1", request_id: "" });
    expect(JSON.parse(dls[0]?.fields ?? "{}")).toEqual({ hello: "world" });
    expect(dls[1]?.reason).toBe("'payload' is not valid JSON");
    expect(dls[2]?.reason).toMatch(/^'payload' does not match the protocol: /);
    expect(await pendingEntries(client, prefix)).toEqual([]);
    expect(t.deployer.calls.map((c) => c.requestId)).toEqual([good.request_id]);
  });
});

describe("runner: one deploy per target", () => {
  it("coalesces identical requests that piled up during a deploy; a different one ends the run", async () => {
    const gate = newGate();
    const deployer = new TestDeployer("runner-a", async (ctx, attempt) => {
      if (ctx.request.request_id === first.request_id) await gate.wait;
      return { state: "succeeded", detail: `attempt ${attempt}` };
    });
    const first = newRequest({ action: "rebuild", build_args: { A: "1" } });
    await startTestRunner(prefix, { deployer });
    await enqueue(client, prefix, first);
    await waitFor("the first deploy to start", () => deployer.calls.length === 1);

    const same = () => newRequest({ action: "rebuild", build_args: { A: "1" } });
    const [r2, r3, r4] = [same(), same(), same()];
    const scale = newRequest({ action: "scale", replicas: 2 });
    const r6 = same();
    for (const r of [r2, r3, r4, scale, r6]) await enqueue(client, prefix, r);
    gate.open();

    await waitForState(client, prefix, r6.request_id, "succeeded");
    for (const r of [r3, r4]) {
      const s = await statusOf(client, prefix, r.request_id);
      expect(s).toMatchObject({ state: "coalesced", detail: `carried out by request ${r2.request_id}` });
    }
    for (const r of [first, r2, scale, r6])
      expect((await statusOf(client, prefix, r.request_id)).state).toBe("succeeded");
    expect(deployer.calls.map((c) => c.requestId)).toEqual([
      first.request_id,
      r2.request_id,
      scale.request_id,
      r6.request_id,
    ]);
    // The carrier's deploy is told what it carries (to sweep tags an attempt of theirs left).
    expect(deployer.calls.map((c) => c.carries)).toEqual([[], [r3.request_id, r4.request_id], [], []]);
    await waitFor("every entry acked", async () => (await pendingEntries(client, prefix)).length === 0);
  });

  it("coalesces requests that another runner holds, waiting for the lock, and acknowledges them", async () => {
    const gate = newGate();
    const calls: NonNullable<ConstructorParameters<typeof TestDeployer>[2]> = [];
    const behaviour = async (ctx: { request: { request_id: string } }) => {
      if (ctx.request.request_id === first.request_id) await gate.wait;
      return { state: "succeeded" as const, detail: "ok" };
    };
    const first = newRequest({ action: "restart" });
    await startTestRunner(prefix, { deployer: new TestDeployer("runner-a", behaviour, calls) });
    await enqueue(client, prefix, first);
    await waitFor("the first deploy to start", () => calls.length === 1);
    const bLog: string[] = [];
    const b = await startTestRunner(prefix, {
      env: { RUNNER_ID: "runner-b" },
      deployer: new TestDeployer("runner-b", behaviour, calls),
      logLines: bLog,
    });
    const rest = [
      newRequest({ action: "restart" }),
      newRequest({ action: "restart" }),
      newRequest({ action: "restart" }),
    ];
    for (const r of rest) await enqueue(client, prefix, r);
    await waitFor("runner-b to hold all three, waiting for the lock", async () => {
      const pel = await pendingEntries(client, prefix);
      return pel.filter(([, owner]) => owner === "runner-b").length === 3 && b.deployer.validations >= 3;
    });
    gate.open();

    await waitFor("every entry acked", async () => (await pendingEntries(client, prefix)).length === 0);
    const states = await Promise.all(
      rest.map(async (r) => (await statusOf(client, prefix, r.request_id)).state),
    );
    expect(states.filter((s) => s === "succeeded")).toHaveLength(1);
    expect(states.filter((s) => s === "coalesced")).toHaveLength(2);
    expect(calls).toHaveLength(2);
    const carrier = rest[states.indexOf("succeeded")]!;
    for (const r of rest.filter((x) => x !== carrier)) {
      expect((await statusOf(client, prefix, r.request_id)).coalesced_into).toBe(carrier.request_id);
    }
    // Waiting for the lock is not taking the request: one "Processing" line, for the one it ran.
    const processing = bLog
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg.startsWith("Processing improvement request:"));
    expect(processing.map((l) => l.request_id)).toEqual([carrier.request_id]);
  });

  it("never runs two deploys of one target at once across two runners", async () => {
    const calls: NonNullable<ConstructorParameters<typeof TestDeployer>[2]> = [];
    const slow = succeedAfter(60);
    const a = await startTestRunner(prefix, { deployer: new TestDeployer("runner-a", slow, calls) });
    const b = await startTestRunner(prefix, {
      env: { RUNNER_ID: "runner-b" },
      deployer: new TestDeployer("runner-b", slow, calls),
    });
    // Scale requests with distinct replica counts never coalesce: every one is a deploy.
    const requests = Array.from({ length: 12 }, (_, i) =>
      newRequest(
        { action: "scale", replicas: i + 1 },
        { target_agent: i % 3 === 2 ? "other-agent" : "test-agent" },
      ),
    );
    for (const r of requests) await enqueue(client, prefix, r);
    for (const r of requests) await waitForState(client, prefix, r.request_id, "succeeded", 30_000);

    expect(calls).toHaveLength(12);
    expect(new Set(calls.map((c) => c.runner))).toEqual(new Set(["runner-a", "runner-b"]));
    for (const target of ["test-agent", "other-agent"]) {
      const mine = calls.filter((c) => c.target === target).sort((x, y) => x.start - y.start);
      for (let i = 1; i < mine.length; i++) {
        expect(mine[i]!.start).toBeGreaterThanOrEqual(mine[i - 1]!.end!);
        expect(mine[i]!.fence).toBeGreaterThan(mine[i - 1]!.fence);
      }
    }
    expect(a.deployer.calls).toBe(b.deployer.calls);
  });
});
