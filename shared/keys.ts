/**
 * Every Redis name the intake, the runner and the CLI use, in one place. The stream names are the
 * ones agents already write to; `prefix` (empty in production) isolates tests and tenants.
 */
export const STREAMS = {
  requests: "events:improvement_requested",
  status: "events:improvement_status",
  deadLetter: "events:improvement_dead_letter",
} as const;

/**
 * Pub/sub channels the original HyperCode system's agents subscribe to for the outcome of their
 * requests (shared/protocol/deployment-event.ts).
 */
export const CHANNELS = {
  deploymentSuccess: "events:deployment:success",
  deploymentFailure: "events:deployment:failure",
} as const;

/** The consumer group runners share on the request stream. */
export const RUNNER_GROUP = "hypercode-runners";

export const keys = (prefix = "") => ({
  prefix,
  requestStream: prefix + STREAMS.requests,
  statusStream: prefix + STREAMS.status,
  deadLetterStream: prefix + STREAMS.deadLetter,
  deploymentSuccess: prefix + CHANNELS.deploymentSuccess,
  deploymentFailure: prefix + CHANNELS.deploymentFailure,
  /** Hash: an agent's record (scope, rate limit, key hash). */
  agent: (agentId: string) => `${prefix}hypercode:agent:${agentId}`,
  /** Set of every agent id ever added, so `agents list` needs no SCAN. */
  agentIndex: `${prefix}hypercode:agents`,
  /** Hash: an operator's record (key hash, created/revoked); operators sign in to the dashboard. */
  operator: (operatorId: string) => `${prefix}hypercode:operator:${operatorId}`,
  /** Set of every operator id ever added, for `operators list`. */
  operatorIndex: `${prefix}hypercode:operators`,
  /** Hash: target name -> PublishedTarget JSON, written by runners. */
  targets: `${prefix}hypercode:targets`,
  /** Hash: a request's current status. */
  request: (requestId: string) => `${prefix}hypercode:request:${requestId}`,
  /** Stream: a request's own timeline, for GET and the live feed. */
  requestEvents: (requestId: string) => `${prefix}hypercode:request:${requestId}:events`,
  /** String: the first answer to an idempotent submission. */
  idempotency: (agentId: string, key: string) => `${prefix}hypercode:idem:${agentId}:${key}`,
  /** Sorted sets: sliding-window logs of accepted submissions. */
  agentRate: (agentId: string) => `${prefix}hypercode:rate:agent:${agentId}`,
  targetBudget: (target: string) => `${prefix}hypercode:rate:target:${target}`,
  /** Sorted set: an agent's live status feeds (feed id -> when its place lapses, ms). */
  agentFeeds: (agentId: string) => `${prefix}hypercode:feeds:${agentId}`,
  /** String: the deploy lock of a target, and its fencing counter. */
  targetLock: (target: string) => `${prefix}hypercode:lock:${target}`,
  targetFence: (target: string) => `${prefix}hypercode:fence:${target}`,
  /** Hash: key id -> WebhookKeyRecord JSON, the public keys runners sign webhooks with. */
  webhookKeys: `${prefix}hypercode:webhook_keys`,
  /** Hash: runner id -> heartbeat JSON. */
  runners: `${prefix}hypercode:runners`,
});

export type Keys = ReturnType<typeof keys>;
