import { describe, expect, it } from "vitest";
import {
  decodeStreamEntry,
  deploymentEventOf,
  EVOLUTION_STATUSES,
  evolutionStatusOf,
  fingerprintText,
  type ImprovementRequest,
  REQUEST_STATES,
  unrecordedEntryEventOf,
} from "../../shared/protocol/index.js";

/** Byte for byte what the original model's `model_dump_json()` writes (pydantic v2). */
const MODEL_DUMP =
  '{"id":"9d59c28c-0f38-4ad2-b72a-b0164ddbfea5","agent_id":"coder-agent","target_agent":"test-agent","improvement_type":"performance","description":"Optimizing build settings","payload":{"action":"redeploy"},"priority":1,"files_changed":[],"test_results":null,"status":"proposed","timestamp":"2026-12-01T23:34:55.317444"}';

const decode = (payload: string) => decodeStreamEntry("1764632095317-0", { payload });

describe("the upstream envelope on the stream", () => {
  it("decodes model_dump_json() as written, under the agent's id, as a direct entry", () => {
    const d = decode(MODEL_DUMP);
    expect(d).toMatchObject({
      ok: true,
      direct: true,
      request: {
        request_id: "9d59c28c-0f38-4ad2-b72a-b0164ddbfea5",
        priority: "low",
        files_changed: [],
        test_results: null,
        status: "proposed",
        timestamp: "2026-12-01T23:34:55.317444Z",
        created_at: new Date(1764632095317).toISOString(),
      },
    });
    expect(d.ok && "id" in d.request).toBe(false);
  });

  it("maps priorities 1-5 onto low, normal, high, one documented way", () => {
    const of = (p: unknown) => {
      const d = decode(MODEL_DUMP.replace('"priority":1', `"priority":${JSON.stringify(p)}`));
      return d.ok ? d.request.priority : d.issues?.[0]?.message;
    };
    expect([1, 2, 3, 4, 5, "low", "normal", "high"].map(of)).toEqual([
      "low",
      "low",
      "normal",
      "high",
      "high",
      "low",
      "normal",
      "high",
    ]);
    for (const bad of [0, 6, 2.5, "critical", null]) expect(of(bad)).toMatch(/1 \(low\) to 5 \(critical\)/);
  });

  it("keeps a timestamp with an offset as it is, and reads a naive one as UTC", () => {
    const at = (t: string) => {
      const d = decode(MODEL_DUMP.replace("2026-12-01T23:34:55.317444", t));
      return d.ok ? d.request.timestamp : d.reason;
    };
    expect(at("2026-12-01T23:34:55+02:00")).toBe("2026-12-01T23:34:55+02:00");
    expect(at("2026-12-01T23:34:55Z")).toBe("2026-12-01T23:34:55Z");
    expect(at("2026-12-01T23:34:55")).toBe("2026-12-01T23:34:55Z");
    expect(at("01/12/2026")).toMatch(/does not match/);
  });

  it("refuses an id and a request_id that name different requests, and any other status", () => {
    const both = decode(MODEL_DUMP.replace('"id":', '"request_id":"other-id","id":'));
    expect(both.ok).toBe(false);
    expect(!both.ok && both.issues?.[0]?.message).toMatch(/id and request_id name the same request/);
    const same = decode(
      MODEL_DUMP.replace('"id":', '"request_id":"9d59c28c-0f38-4ad2-b72a-b0164ddbfea5","id":'),
    );
    expect(same.ok).toBe(true);
    const coded = decode(MODEL_DUMP.replace('"proposed"', '"coded"'));
    expect(!coded.ok && coded.issues?.[0]).toMatchObject({
      path: ["status"],
      message: expect.stringMatching(/'proposed'/),
    });
  });

  it("fingerprints what was asked, not when or under which id, whatever the key order", () => {
    const d = decode(MODEL_DUMP);
    if (!d.ok) throw new Error(d.reason);
    const r = d.request;
    const reordered = Object.fromEntries(Object.entries(r).reverse()) as ImprovementRequest;
    expect(fingerprintText(reordered)).toBe(fingerprintText(r));
    expect(fingerprintText({ ...r, request_id: "x", created_at: "2020-01-01T00:00:00Z" })).toBe(
      fingerprintText(r),
    );
    expect(fingerprintText({ ...r, description: "Optimizing other settings" })).not.toBe(fingerprintText(r));
    expect(fingerprintText({ ...r, payload: { action: "restart" } })).not.toBe(fingerprintText(r));
  });
});

describe("the status in upstream words", () => {
  it("gives every state an EvolutionStatus; a coalesced one takes its carrier's outcome", () => {
    const table = Object.fromEntries(REQUEST_STATES.map((s) => [s, evolutionStatusOf(s)]));
    expect(table).toEqual({
      queued: "proposed",
      running: "deploying",
      building: "deploying",
      deploying: "deploying",
      succeeded: "completed",
      failed: "failed",
      rolled_back: "rolled_back",
      rejected: "failed",
      coalesced: "deploying",
      dead_lettered: "failed",
    });
    expect(evolutionStatusOf("coalesced", "succeeded")).toBe("completed");
    expect(evolutionStatusOf("coalesced", "rolled_back")).toBe("rolled_back");
    for (const s of Object.values(table)) expect(EVOLUTION_STATUSES).toContain(s);
  });
});

describe("deployment events", () => {
  const status = {
    request_id: "r-1",
    target_agent: "test-agent",
    agent_id: "coder-agent",
    action: "redeploy" as const,
    created_at: "2026-12-01T23:34:55Z",
    updated_at: "2026-12-01T23:35:05Z",
    detail: "health check failed",
    health_log: "connection refused",
  };

  it("carries the upstream fields: request_id, agent and logs, or error with the reason", () => {
    expect(
      deploymentEventOf({ ...status, state: "succeeded" as const, image_id: "sha256:ab" }, "the log"),
    ).toMatchObject({
      request_id: "r-1",
      agent: "test-agent",
      success: true,
      logs: "the log",
      new_image_id: "sha256:ab",
    });
    expect(deploymentEventOf({ ...status, state: "rolled_back" as const }, "")).toMatchObject({
      success: false,
      evolution_status: "rolled_back",
      error: "health check failed\nconnection refused",
    });
  });

  it("names an unreadable entry's id only when it is a valid id with a target", () => {
    const unknownAction = MODEL_DUMP.replace('"redeploy"', '"delete"');
    expect(unrecordedEntryEventOf(unknownAction, "bad action")).toMatchObject({
      request_id: "9d59c28c-0f38-4ad2-b72a-b0164ddbfea5",
      action: "delete",
      error: "bad action",
    });
    expect(unrecordedEntryEventOf(unknownAction.replace("9d59c28c", "../../x"), "r")).toBeUndefined();
    expect(unrecordedEntryEventOf("{not json", "r")).toBeUndefined();
    expect(unrecordedEntryEventOf('{"id":"a"}', "r")).toBeUndefined();
  });
});
