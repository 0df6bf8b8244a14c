import type { Redis } from "ioredis";
import { addAgent as addAgentToStore, revokeAgent as revokeAgentInStore } from "../../cli/agents-store.js";
import { keys } from "../../shared/keys.js";
import { SCRIPTS } from "../../shared/lua/scripts.generated.js";
import {
  type Action,
  allowedFrom,
  type PublishedTarget,
  type RequestState,
} from "../../shared/protocol/index.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import { runJsonScript } from "../../shared/redis/run-script.js";

export interface AgentSpec {
  id: string;
  targets: string[];
  actions: Action[];
  rate?: number;
  windowMs?: number;
  callbacks?: string[];
}

/** Adds an agent through the CLI's own store and returns its key. */
export const addAgent = async (client: Redis, prefix: string, spec: AgentSpec): Promise<string> => {
  const r = await addAgentToStore(new IoredisAdapter(client), keys(prefix), {
    agentId: spec.id,
    targets: spec.targets,
    actions: spec.actions,
    rate: { limit: spec.rate ?? 1000, windowMs: spec.windowMs ?? 60_000 },
    callbacks: spec.callbacks,
    replace: true,
  });
  if (r.outcome === "exists") throw new Error(`agent ${spec.id} exists`);
  return r.apiKey;
};

export const revokeAgent = async (client: Redis, prefix: string, id: string): Promise<void> => {
  await revokeAgentInStore(new IoredisAdapter(client), keys(prefix), id);
};

/** Publishes a target the way a runner does. */
export const publishTarget = async (
  client: Redis,
  prefix: string,
  target: string,
  actions: Action[],
  extra: Partial<PublishedTarget> = {},
): Promise<void> => {
  const t: PublishedTarget = {
    target,
    actions,
    runner_id: "test-runner",
    expires_at: Date.now() + 600_000,
    ...extra,
  };
  await client.hset(keys(prefix).targets, target, JSON.stringify(t));
};

let counter = 0;
/** A slug no other test in this process uses. */
export const uniqueName = (base: string): string =>
  `${base}-${process.pid.toString(36)}-${(counter++).toString(36)}`;

/**
 * Moves a request to a new state the way the runner does, through transition.lua; `fields` are
 * stored with the move, as the runner records a revision or `coalesced_into`.
 */
export const transition = async (
  client: Redis,
  prefix: string,
  requestId: string,
  to: RequestState,
  detail = "",
  fields: Record<string, string> = {},
) => {
  const k = keys(prefix);
  return runJsonScript<{ ok: boolean }>(
    new IoredisAdapter(client),
    SCRIPTS.transition,
    [k.request(requestId), k.statusStream, k.requestEvents(requestId)],
    [
      requestId,
      to,
      `,${allowedFrom(to).join(",")},`,
      new Date().toISOString(),
      detail,
      600_000,
      10_000,
      "",
      ...Object.entries(fields).flat(),
    ],
  );
};

/** Reads a Server-Sent Events response to its end: `[{ event, id, data }]`. */
export const readSse = async (res: Response) => {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.split("\n")) {
        const i = line.indexOf(":");
        if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trimStart();
      }
      return { event: fields.event, id: fields.id, data: fields.data ? JSON.parse(fields.data) : undefined };
    });
};
