import { TransientError } from "../errors.js";
import { assertNoEscalation } from "./escalation.js";
import { type HealthOptions, waitHealthy } from "./health.js";
import { discard, type ReplicaEnv, retire, shortId, startReplica } from "./replicas.js";
import type { Spec } from "./spec.js";
import { inspectMembers, isServing, sortByCreated } from "./target.js";
import type { InspectedContainer } from "./types.js";

export interface RolloutEnv extends ReplicaEnv {
  readonly health: Omit<HealthOptions, "http" | "signal">;
}

/**
 * Where a target should end up. The rollout is a reconciliation from whatever the containers are
 * now, so that a retry after a crash at any step converges instead of piling up containers.
 */
export interface RolloutPlan {
  readonly spec: Spec;
  readonly replicas: number;
  /** Containers already as wanted: kept. The others are replaced, oldest first. */
  readonly isCurrent: (c: InspectedContainer) => boolean;
  /** Whether kept containers must prove healthy first (a crashed attempt may have left a sick one). */
  readonly gateCurrent: boolean;
  /** How many new replicas start together before as many old ones are retired (at least 1). */
  readonly surge: number;
  /** How to put back what this rollout changed if a new replica fails, given the ids it added. */
  readonly restore?: (added: readonly string[]) => RolloutPlan;
  /** Said in progress messages. */
  readonly what: string;
}

export type RolloutResult =
  | { readonly ok: true; readonly created: number; readonly removed: number }
  | {
      readonly ok: false;
      readonly detail: string;
      readonly healthLog: string;
      /** Undefined when nothing had been replaced yet, so there was nothing to restore. */
      readonly restored?: boolean;
    };

/**
 * A new replica that stopped while the target's other containers stopped or restarted too was not
 * let down by its image: the engine restarted (or someone stopped the target). That is worth a
 * retry, not a failed request.
 */
const assertUndisturbed = async (env: RolloutEnv, before: ReadonlyMap<string, string>): Promise<void> => {
  const now = new Map((await inspectMembers(env.docker, env.policy.name)).map((c) => [c.Id, c]));
  for (const [id, startedAt] of before) {
    const c = now.get(id);
    if (!c?.State.Running || c.State.StartedAt !== startedAt) {
      throw new TransientError(
        `container ${shortId(id)} of ${env.policy.name} stopped or restarted during the health wait too (did the Docker engine restart?); will retry`,
      );
    }
  }
};

const healthOf = async (env: RolloutEnv, id: string) =>
  waitHealthy(env.docker, id, { ...env.health, http: env.policy.healthHttp, signal: env.ctx.signal });

/** Scale-down and surplus removal take sick containers first, then the oldest. */
const retireOrder = (cs: readonly InspectedContainer[]) =>
  [...cs].sort(
    (a, b) => Number(b.State.Health?.Status === "unhealthy") - Number(a.State.Health?.Status === "unhealthy"),
  );

/** Settles every promise, then throws the first rejection: no step is left running unobserved. */
const allOrFirstError = async <T>(steps: readonly Promise<T>[]): Promise<T[]> => {
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
};

/**
 * Starts a batch of new replicas side by side. All or nothing: when one cannot be started, the
 * others that did start are removed again before the error goes on (best effort: with the lock
 * lost they stay, and the retry's reconciliation deals with them, as after a crash).
 */
const startBatch = async (
  env: RolloutEnv,
  spec: RolloutPlan["spec"],
  victims: readonly InspectedContainer[],
  size: number,
): Promise<string[]> => {
  const starts = await Promise.allSettled(
    Array.from({ length: size }, (_, i) => startReplica(env, spec, victims[i])),
  );
  const ids = starts.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = starts.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (!failed) return ids;
  for (const id of ids) {
    await discard(env, id).catch((err) =>
      env.log.warn({ id: shortId(id), err: String(err) }, "could not remove a replica of a failed batch"),
    );
  }
  throw failed.reason;
};

/**
 * Start-first, in batches of `plan.surge` replicas: start the new containers beside the old ones
 * (same networks and aliases), wait until all of them are healthy, then retire as many old
 * containers (pre-stop hook, their own stop signal and grace, remove). If any new container of a
 * batch does not become healthy, the whole batch is removed and the old ones keep serving;
 * replicas earlier batches already replaced are put back with `restore`. No old container is
 * stopped before its replacement is healthy, so a target with one healthy replica always has one.
 * A surge of all replicas takes about the time of one replacement; a surge of 1 is the classic
 * one-at-a-time roll, never above replicas + 1 containers.
 */
export const rollout = async (env: RolloutEnv, plan: RolloutPlan): Promise<RolloutResult> => {
  const members = await inspectMembers(env.docker, env.policy.name);
  const stale = sortByCreated(members.filter((c) => isServing(c) && !plan.isCurrent(c)));
  // The privilege check runs against every container this may replace before anything changes.
  for (const c of stale) assertNoEscalation(c, plan.spec, env.repository);
  // Leftovers (created but never started, stopped but not removed) serve nothing: clear them first.
  for (const c of members.filter((m) => !isServing(m))) await discard(env, c.Id);

  const current: InspectedContainer[] = [];
  for (const c of members.filter((m) => isServing(m) && plan.isCurrent(m))) {
    if (!plan.gateCurrent) {
      current.push(c);
      continue;
    }
    const h = await healthOf(env, c.Id);
    if (h.healthy) current.push(c);
    else await discard(env, c.Id);
  }

  // What was serving, and since when: to tell a sick image from an engine that restarted.
  const serving = new Map([...stale, ...current].map((c) => [c.Id, c.State.StartedAt]));
  const added: string[] = [];
  let removed = 0;
  while (current.length < plan.replicas) {
    const first = current.length + 1;
    const size = Math.min(Math.max(1, plan.surge), plan.replicas - current.length);
    const victims = stale.slice(0, size);
    const which =
      size === 1
        ? `replica ${first}/${plan.replicas}`
        : `replicas ${first}-${first + size - 1}/${plan.replicas}`;
    const olds = victims.map((v) => shortId(v)).join(", ");
    const replacing = victims.length > 0 ? ` to replace ${olds}` : "";
    await env.ctx.progress(
      "deploying",
      `${plan.what}: ${which}: starting ${size === 1 ? "a new container" : `${size} new containers`}${replacing}`,
    );
    const ids = await startBatch(env, plan.spec, victims, size);
    const health = await allOrFirstError(ids.map((id) => healthOf(env, id)));
    const sick = health.findIndex((h) => !h.healthy);
    const h = health[sick];
    if (h && !h.healthy) {
      await assertUndisturbed(env, serving);
      for (const id of ids) await discard(env, id);
      const detail = `${plan.what}: replica ${first + sick}/${plan.replicas}: the new container ${h.detail}`;
      env.log.warn({ target: env.policy.name, detail }, "rollout stopped: new replica unhealthy");
      if (added.length === 0 || !plan.restore) return { ok: false, detail, healthLog: h.log };
      const back = await rollout(env, plan.restore(added));
      return back.ok
        ? {
            ok: false,
            detail: `${detail}; the ${added.length} replica(s) already replaced were restored`,
            healthLog: h.log,
            restored: true,
          }
        : {
            ok: false,
            detail: `${detail}; restoring the replaced replicas failed too: ${back.detail}`,
            healthLog: h.log,
            restored: false,
          };
    }
    added.push(...ids);
    if (victims.length > 0) {
      await env.ctx.progress("deploying", `${plan.what}: ${which}: healthy; retiring ${olds}`);
    }
    // Every new replica of the batch is healthy, so the old ones can go together.
    await allOrFirstError(victims.map((v) => retire(env, v)));
    for (const v of victims) {
      stale.shift();
      serving.delete(v.Id);
      removed++;
    }
    for (const id of ids) {
      const fresh = (await env.docker.getContainer(id).inspect()) as unknown as InspectedContainer;
      current.push(fresh);
      serving.set(id, fresh.State.StartedAt);
    }
  }
  for (const c of stale) {
    await retire(env, c);
    removed++;
  }
  for (const c of retireOrder(sortByCreated(current)).slice(0, Math.max(0, current.length - plan.replicas))) {
    await env.ctx.progress("deploying", `${plan.what}: removing surplus replica ${shortId(c)}`);
    await retire(env, c);
    removed++;
  }
  return { ok: true, created: added.length, removed };
};
