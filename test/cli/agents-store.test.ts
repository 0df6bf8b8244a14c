import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentInputError, addAgent, listAgents, revokeAgent } from "../../cli/agents-store.js";
import { hashApiKey } from "../../shared/api-key.js";
import { keys } from "../../shared/keys.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import { deletePrefix, freshPrefix, testClient } from "../support/redis.js";

let client: Redis;
let redis: IoredisAdapter;
const prefix = freshPrefix();
const k = keys(prefix);
const rate = { limit: 30, windowMs: 60_000 };

beforeAll(() => {
  client = testClient();
  redis = new IoredisAdapter(client);
});
afterAll(async () => {
  await deletePrefix(client, prefix);
  await client.quit();
});

describe("agents store (in process)", () => {
  it("refuses invalid input itself, naming every problem, and writes nothing", async () => {
    const bad = {
      agentId: "Ops",
      targets: ["web", "a/b"],
      actions: ["restart", "nuke"],
      rate: { limit: 0, windowMs: 1 },
    };
    const err = await addAgent(redis, k, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentInputError);
    expect((err as AgentInputError).exitCode).toBe(2);
    expect((err as AgentInputError).problems).toEqual([
      expect.stringMatching(/^invalid agent id 'Ops'/),
      expect.stringMatching(/^invalid target 'a\/b'/),
      expect.stringMatching(/^unknown action 'nuke'/),
      expect.stringMatching(/rate must allow a positive whole number/),
    ]);
    await expect(addAgent(redis, k, { agentId: "ops", targets: [], actions: [], rate })).rejects.toThrow(
      /--targets needs at least one target[\s\S]*--actions needs at least one action/,
    );
    await expect(revokeAgent(redis, k, "../x")).rejects.toBeInstanceOf(AgentInputError);
    expect(await client.keys(`${prefix}*`)).toEqual([]);
  });

  it("adds with duplicates removed, lists without the hash, revokes once", async () => {
    const now = new Date("2030-01-02T03:04:05.000Z");
    const added = await addAgent(
      redis,
      k,
      { agentId: "ops", targets: ["web", "web", "db"], actions: ["restart"], rate },
      now,
    );
    expect(added).toMatchObject({
      outcome: "created",
      agent: { targets: ["web", "db"], created_at: now.toISOString() },
    });
    if (added.outcome === "exists") throw new Error("unreachable");
    expect(await client.hget(k.agent("ops"), "key_hash")).toBe(await hashApiKey(added.apiKey));
    expect(
      await addAgent(redis, k, { agentId: "ops", targets: ["web"], actions: ["restart"], rate }),
    ).toEqual({
      outcome: "exists",
    });

    expect(await listAgents(redis, k)).toEqual([added.agent]);
    const later = new Date("2030-01-02T04:00:00.000Z");
    expect(await revokeAgent(redis, k, "ops", later)).toEqual({
      outcome: "revoked",
      revokedAt: later.toISOString(),
    });
    expect(await revokeAgent(redis, k, "ops")).toEqual({
      outcome: "already_revoked",
      revokedAt: later.toISOString(),
    });
    expect(await revokeAgent(redis, k, "ghost")).toEqual({ outcome: "not_found" });
    expect((await listAgents(redis, k))[0]?.revoked_at).toBe(later.toISOString());
  });
});
