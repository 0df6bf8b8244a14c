import * as z from "zod";
import {
  type EvolutionStatus,
  evolutionStatusOf,
  isTerminal,
  publishedTarget,
  type RequestState,
  requestState,
  runnerRecord,
} from "../../shared/protocol/index.js";
import { asList } from "../../shared/redis/run-script.js";

/**
 * What the dashboard shows, built from one `dashboard.lua` reply. `GET /dashboard/data.json`
 * answers with this (plus the rendered sections), so a script can read the same numbers.
 */
export interface DashboardData {
  generated_at: string;
  operator: { operator_id: string; created_at: string };
  queue: QueueView;
  runners: RunnerView[];
  targets: TargetView[];
  /** Newest first. */
  requests: RequestView[];
}

export interface QueueView {
  stream: string;
  /** Entries in the stream, acknowledged ones included until they are trimmed. */
  length: number;
  /** Entries no runner has read yet; null when Redis cannot tell (after deletions). */
  lag: number | null;
  /** Entries read and not yet acknowledged: in hand, waiting for a retry or a lock. */
  pending: number;
  consumers: number;
  dead_letters: number;
}

export interface RunnerView {
  runner_id: string;
  /** Its record has not expired: it published within the last three intervals. */
  alive: boolean;
  seen_at: string;
  started_at: string | null;
  in_hand: string | null;
  held: number;
  targets: string[];
}

export interface TargetView {
  target: string;
  actions: string[];
  replicas: number | null;
  revision: string | null;
  runner_id: string;
  live: boolean;
}

export interface TimelineEvent {
  state: RequestState;
  at: string;
  detail: string | null;
}

export interface RequestView {
  request_id: string;
  agent_id: string;
  target: string;
  action: string;
  state: RequestState;
  /** The state in the original HyperCode system's words. */
  evolution_status: EvolutionStatus;
  finished: boolean;
  improvement_type: string | null;
  priority: string | null;
  /** The agent's own time of writing (created_at is when the intake accepted it). */
  timestamp: string | null;
  /** The first files the request lists (see FILES_PER_REQUEST), and how many more it lists. */
  files_changed: string[];
  files_more: number;
  /** The test results as JSON text, cut at TEST_RESULTS_BYTES (`test_results_truncated`). */
  test_results: string | null;
  test_results_truncated: boolean;
  description: string | null;
  detail: string | null;
  revision: string | null;
  coalesced_into: string | null;
  created_at: string;
  updated_at: string;
  /** Until the last update when finished, else until now. */
  duration_ms: number | null;
  timeline: TimelineEvent[];
}

/** The script's reply, before it is checked. Runner and target records are the JSON runners wrote. */
export interface DashboardReply {
  ok: true;
  operator: { operator_id: string; created_at: string };
  queue: {
    length: number;
    dead_letters: number;
    group?: { consumers: number; pending: number; lag?: number };
  };
  runners: unknown;
  targets: unknown;
  requests: unknown;
}

const requestRecord = z.object({
  request_id: z.string(),
  agent_id: z.string().default(""),
  target_agent: z.string().default(""),
  action: z.string().default(""),
  state: requestState,
  created_at: z.string().default(""),
  updated_at: z.string().default(""),
  detail: z.string().optional(),
  revision: z.string().optional(),
  coalesced_into: z.string().optional(),
  carrier_state: requestState.optional().catch(undefined),
  description: z.string().optional(),
  improvement_type: z.string().optional(),
  priority: z.string().optional(),
  timestamp: z.string().optional(),
  files_changed: z.preprocess((v) => asList(v), z.array(z.string())),
  files_more: z.number().int().nonnegative().default(0),
  test_results: z.string().optional(),
  test_results_truncated: z.boolean().default(false),
  events: z.preprocess(
    (v) => asList(v),
    z.array(z.object({ state: requestState, at: z.string(), detail: z.string().optional() })),
  ),
});

/** Records as runners wrote them (JSON text) or as the script built them: malformed ones are left out. */
const parsedRecords = <T>(raw: unknown, schema: z.ZodType<T>): T[] =>
  asList<unknown>(raw).flatMap((item) => {
    try {
      const r = schema.safeParse(typeof item === "string" ? JSON.parse(item) : item);
      return r.success ? [r.data] : [];
    } catch {
      return [];
    }
  });

const elapsed = (from: string, to: number): number | null => {
  const start = Date.parse(from);
  return Number.isNaN(start) ? null : Math.max(0, to - start);
};

export const toDashboardData = (reply: DashboardReply, stream: string, now: number): DashboardData => {
  const group = reply.queue.group;
  const runners = parsedRecords(reply.runners, runnerRecord)
    .map((r) => ({
      runner_id: r.runner_id,
      alive: r.expires_at > now,
      seen_at: r.seen_at,
      started_at: r.started_at ?? null,
      in_hand: r.in_hand ?? null,
      held: r.held ?? 0,
      targets: r.targets,
    }))
    .sort((a, b) => a.runner_id.localeCompare(b.runner_id));
  const targets = parsedRecords(reply.targets, publishedTarget)
    .map((t) => ({
      target: t.target,
      actions: t.actions,
      replicas: t.replicas ?? null,
      revision: t.revision ?? null,
      runner_id: t.runner_id,
      live: t.expires_at > now,
    }))
    .sort((a, b) => a.target.localeCompare(b.target));
  const requests = parsedRecords(reply.requests, requestRecord).map((r) => {
    const finished = isTerminal(r.state);
    return {
      request_id: r.request_id,
      agent_id: r.agent_id,
      target: r.target_agent,
      action: r.action,
      state: r.state,
      evolution_status: evolutionStatusOf(r.state, r.carrier_state),
      finished,
      improvement_type: r.improvement_type ?? null,
      priority: r.priority ?? null,
      timestamp: r.timestamp ?? null,
      files_changed: r.files_changed,
      files_more: r.files_more,
      test_results: r.test_results ?? null,
      test_results_truncated: r.test_results_truncated,
      description: r.description ?? null,
      detail: r.detail || null,
      revision: r.revision ?? null,
      coalesced_into: r.coalesced_into ?? null,
      created_at: r.created_at,
      updated_at: r.updated_at,
      duration_ms: elapsed(r.created_at, finished ? Date.parse(r.updated_at) : now),
      timeline: r.events.map((e) => ({ state: e.state, at: e.at, detail: e.detail || null })),
    };
  });
  return {
    generated_at: new Date(now).toISOString(),
    operator: reply.operator,
    queue: {
      stream,
      length: reply.queue.length,
      // No group yet: no runner has ever read, so every entry is waiting.
      lag: group ? (group.lag ?? null) : reply.queue.length,
      pending: group?.pending ?? 0,
      consumers: group?.consumers ?? 0,
      dead_letters: reply.queue.dead_letters,
    },
    runners,
    targets,
    requests,
  };
};
