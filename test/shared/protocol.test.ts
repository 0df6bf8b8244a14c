import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  decodeStreamEntry,
  improvementRequest,
  improvementSubmission,
  requestIdForEntry,
} from "../../shared/protocol/index.js";
import { streamEntryJsonSchema, submissionJsonSchema } from "../../shared/protocol/json-schema.js";

/** The request agents already write straight into Redis (the seed's example). */
const SEED = {
  agent_id: "coder-agent",
  target_agent: "test-agent",
  improvement_type: "performance",
  description: "Optimizing build settings",
  payload: { action: "redeploy" },
};

const submit = (patch: Record<string, unknown>) => improvementSubmission.safeParse({ ...SEED, ...patch });
const issuePaths = (r: ReturnType<typeof submit>) =>
  r.success ? [] : [...new Set(r.error.issues.map((i) => i.path.join(".")))];

describe("the improvement request schema", () => {
  it("accepts the seed's example request", () => {
    const r = improvementSubmission.parse(SEED);
    expect(r).toEqual(SEED);
  });

  it("normalises upper-case improvement types", () => {
    expect(submit({ improvement_type: "PERFORMANCE" }).data?.improvement_type).toBe("performance");
    expect(submit({ improvement_type: "BUG_FIX" }).data?.improvement_type).toBe("bug_fix");
    expect(issuePaths(submit({ improvement_type: "sabotage" }))).toEqual(["improvement_type"]);
  });

  it("accepts every action with its options", () => {
    for (const payload of [
      { action: "restart" },
      { action: "redeploy", image: "registry.example.com:5000/team/app:v2" },
      { action: "redeploy", image: `app@sha256:${"a".repeat(64)}` },
      { action: "rebuild", build_args: { NODE_ENV: "production" }, no_cache: true },
      { action: "update_config", env: { LOG_LEVEL: "debug", OLD: null } },
      { action: "rollback" },
      { action: "rollback", revision: "r20261125-abc" },
      { action: "scale", replicas: 3 },
    ]) {
      expect(submit({ payload }).success, JSON.stringify(payload)).toBe(true);
    }
  });

  it("refuses each kind of invalid payload", () => {
    const bad: Array<[unknown, string]> = [
      [{ action: "format_disk" }, "payload.action"],
      [{}, "payload.action"],
      [{ action: "restart", privileged: true }, "payload"],
      [{ action: "redeploy", image: "UPPER/case" }, "payload.image"],
      [{ action: "redeploy", image: "a".repeat(300) }, "payload.image"],
      [{ action: "rebuild", build_args: { "BAD-NAME": "x" } }, "payload.build_args.BAD-NAME"],
      [{ action: "rebuild", build_args: { A: "x".repeat(5000) } }, "payload.build_args.A"],
      [{ action: "rebuild", no_cache: "yes" }, "payload.no_cache"],
      [{ action: "update_config", env: {} }, "payload.env"],
      [{ action: "update_config" }, "payload.env"],
      [{ action: "rollback", revision: "../../etc" }, "payload.revision"],
      [{ action: "scale", replicas: 0 }, "payload.replicas"],
      [{ action: "scale", replicas: 1.5 }, "payload.replicas"],
      [{ action: "scale", replicas: 1000 }, "payload.replicas"],
    ];
    for (const [payload, path] of bad) {
      const r = submit({ payload });
      expect(r.success, JSON.stringify(payload)).toBe(false);
      expect(
        issuePaths(r).some((p) => p.startsWith(path)),
        `${JSON.stringify(payload)} → ${issuePaths(r)}`,
      ).toBe(true);
    }
  });

  it("refuses NUL and line breaks in env values and build args, saying what and why", () => {
    for (const value of ["a\u0000b", "debug\nLD_PRELOAD=/tmp/x.so", "debug\r", "\u0000"]) {
      for (const payload of [
        { action: "update_config", env: { LOG_LEVEL: value } },
        { action: "rebuild", build_args: { VERSION: value } },
      ]) {
        const r = submit({ payload });
        const field = payload.action === "rebuild" ? "payload.build_args.VERSION" : "payload.env.LOG_LEVEL";
        expect(issuePaths(r), JSON.stringify(payload)).toEqual([field]);
        expect(r.error?.issues[0]?.message).toMatch(/NUL, newline or carriage return.*KEY=VALUE/);
      }
    }
    // Tabs, spaces and everything else printable stay allowed, and `null` still removes a variable.
    expect(submit({ payload: { action: "update_config", env: { A: 'x\ty z="q"', B: null } } }).success).toBe(
      true,
    );
    expect(submit({ payload: { action: "rebuild", build_args: { A: "a b\tc" } } }).success).toBe(true);
  });

  it("refuses control characters in a description, bar tab and newline", () => {
    expect(submit({ description: "line one\n\tline two" }).success).toBe(true);
    for (const description of [
      "\u001b]0;owned\u0007",
      "a\u001b[2Jb",
      "x\ry",
      "\u0000",
      "x\u009b31m",
      "x\u007f",
    ]) {
      const r = submit({ description });
      expect(issuePaths(r), JSON.stringify(description)).toEqual(["description"]);
      expect(r.error?.issues[0]?.message).toMatch(/control characters other than tab and newline/);
    }
  });

  it("checks callback_url and revision with patterns the JSON Schema carries", () => {
    for (const ok of [
      "https://hooks.example.com/agents/done",
      "http://127.0.0.1:9000/x?y=1",
      "https://localhost:65535",
    ])
      expect(issuePaths(submit({ callback_url: ok })), ok).toEqual([]);
    for (const bad of [
      "https://user:pw@hooks.example.com/x",
      "https://hooks.example.com@evil.io/x",
      "https://evil.io\\@hooks.example.com/",
      "ftp://hooks.example.com/",
      "https://exa\tmple.com/",
      "https://1.2.3.999/",
      "https://x:65536/",
      "https://xn--a/",
      "https:///x",
    ])
      expect(issuePaths(submit({ callback_url: bad })), bad).toEqual(["callback_url"]);
    expect(issuePaths(submit({ payload: { action: "rollback", revision: "r1..2" } }))).toEqual([
      "payload.revision",
    ]);
    expect(submit({ payload: { action: "rollback", revision: "r1.2" } }).success).toBe(true);
    const { properties } = submissionJsonSchema() as { properties: Record<string, Record<string, unknown>> };
    expect(properties.callback_url?.pattern).toBeTypeOf("string");
    expect(JSON.stringify(properties.description)).toContain("pattern");
  });

  it("refuses a __proto__ name in build_args, env or metadata with a reason, instead of dropping it", () => {
    // JSON.parse makes __proto__ an own property, as the intake and the runner receive it.
    const cases: Array<[string, string]> = [
      ['{"action":"rebuild","build_args":{"__proto__":"x","A":"1"}}', "payload.build_args.__proto__"],
      ['{"action":"update_config","env":{"__proto__":{"polluted":"yes"}}}', "payload.env.__proto__"],
    ];
    for (const [payload, path] of cases) {
      const r = submit({ payload: JSON.parse(payload) });
      expect(r.success, payload).toBe(false);
      expect(issuePaths(r), payload).toContain(path);
      expect(r.error?.issues.find((i) => i.path.join(".") === path)?.message).toMatch(/prototype/);
    }
    const meta = submit({ metadata: JSON.parse('{"__proto__":"x"}') });
    expect(issuePaths(meta)).toEqual(["metadata.__proto__"]);
    // Names that merely look special survive parsing, so they stay allowed.
    const kept = submit({ payload: { action: "update_config", env: { constructor: "1", prototype: "2" } } });
    expect(kept.success && kept.data.payload).toEqual({
      action: "update_config",
      env: { constructor: "1", prototype: "2" },
    });
  });

  it("refuses names that are not slugs", () => {
    for (const name of [
      "",
      "a/b",
      "..",
      "a..b",
      "a.b",
      "ａpp",
      "app\u0000",
      "app\n",
      " app",
      "App",
      "-app",
      "x".repeat(64),
    ]) {
      expect(issuePaths(submit({ target_agent: name })), JSON.stringify(name)).toEqual(["target_agent"]);
      expect(issuePaths(submit({ agent_id: name })), JSON.stringify(name)).toEqual(["agent_id"]);
    }
  });

  it("bounds every string and refuses unknown fields", () => {
    expect(issuePaths(submit({ description: "" }))).toEqual(["description"]);
    expect(issuePaths(submit({ description: "   " }))).toEqual(["description"]);
    expect(issuePaths(submit({ description: "x".repeat(4001) }))).toEqual(["description"]);
    expect(issuePaths(submit({ metadata: { k: "v".repeat(257) } }))).toEqual(["metadata.k"]);
    expect(submit({ surprise: 1 }).success).toBe(false);
    expect(submit({ request_id: "mine" }).success).toBe(false);
  });

  it("requires request_id and created_at on what the intake writes", () => {
    expect(improvementRequest.safeParse(SEED).success).toBe(false);
    expect(
      improvementRequest.safeParse({ ...SEED, request_id: "r1", created_at: "2026-11-25T10:00:00.000Z" })
        .success,
    ).toBe(true);
  });
});

describe("stream entries", () => {
  it("reads back an entry an agent wrote directly, deriving its id and time from the entry id", () => {
    const r = decodeStreamEntry("1764064800000-3", { payload: JSON.stringify(SEED) });
    expect(r).toMatchObject({
      ok: true,
      direct: true,
      request: {
        ...SEED,
        request_id: requestIdForEntry("1764064800000-3"),
        created_at: "2025-11-25T10:00:00.000Z",
      },
    });
  });

  it("reads back what the intake writes", () => {
    const written = { ...SEED, request_id: "abc", created_at: "2026-11-25T10:00:00.000Z" };
    expect(decodeStreamEntry("1-0", { payload: JSON.stringify(written) })).toMatchObject({
      ok: true,
      direct: false,
      request: written,
    });
  });

  it("gives a reason for entries that cannot be read", () => {
    expect(decodeStreamEntry("1-0", { other: "x" })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("no 'payload'"),
    });
    expect(decodeStreamEntry("1-0", { payload: "{oops" })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not valid JSON"),
    });
    const r = decodeStreamEntry("1-0", { payload: JSON.stringify({ ...SEED, target_agent: "../x" }) });
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining("does not match") });
    expect(r.ok === false && r.issues?.[0]?.path).toEqual(["target_agent"]);
  });
});

describe("the committed JSON Schemas", () => {
  it("are what the zod schemas generate (run `node scripts/gen-schema.mjs` after changing the protocol)", () => {
    const read = (f: string) =>
      JSON.parse(readFileSync(new URL(`../../schema/${f}`, import.meta.url), "utf8"));
    expect(read("improvement-submission.schema.json")).toEqual(submissionJsonSchema());
    expect(read("improvement-stream-entry.schema.json")).toEqual(streamEntryJsonSchema());
  });
});
