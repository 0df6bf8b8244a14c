import type { Logger } from "pino";
import { decodeStreamEntry, type ImprovementRequest } from "../shared/protocol/index.js";
import { type AdmitDeps, admit } from "./admit.js";
import { backoffMs } from "./backoff.js";
import { pickCoalesced } from "./coalesce.js";
import type { RunnerConfig } from "./config.js";
import type { Delivery, StreamConsumer } from "./consume.js";
import { execute, type Job } from "./execute.js";
import type { Heartbeat } from "./heartbeat.js";
import type { TargetLocks } from "./lock.js";
import type { Deployer } from "./ports.js";
import type { Reporter } from "./report.js";
import type { RetrySchedule } from "./schedule.js";
import type { StatusStore } from "./status.js";

export interface PipelineDeps {
  readonly config: RunnerConfig;
  readonly consumer: StreamConsumer;
  readonly status: StatusStore;
  readonly deployer: Deployer;
  readonly locks: TargetLocks;
  readonly heartbeat: Heartbeat;
  readonly schedule: RetrySchedule;
  readonly report: Reporter;
  readonly checkDirect: AdmitDeps["checkDirect"];
  readonly log: Logger;
  readonly clock: () => number;
  readonly random: () => number;
  /** Aborted when a stop's grace period is over. */
  readonly stopSignal: AbortSignal;
}

/** How many open entries the coalescing step looks at, each side of the group's read position. */
const COALESCE_SCAN = 1000;

/**
 * One delivery, start to end: admit → (lock) → coalesce → execute → report. While it is
 * here, and while it waits for a retry afterwards, the heartbeat keeps the entry ours.
 */
export const handleDelivery = async (d: Delivery, deps: PipelineDeps): Promise<void> => {
  deps.schedule.delete(d.id);
  deps.heartbeat.add(d.id);
  try {
    await run(d, deps);
  } catch (err) {
    // Recording failed (Redis unreachable, most likely): the entry is still pending and ours, so
    // take it up again after a backoff; its status says whatever was recorded last.
    const at =
      deps.clock() + backoffMs(d.deliveries, deps.config.retryBaseMs, deps.config.retryMaxMs, deps.random);
    deps.schedule.set(d.id, at, true);
    deps.log.error({ err, entry_id: d.id }, "could not record the outcome of a delivery; retrying it later");
  } finally {
    if (!deps.schedule.has(d.id)) deps.heartbeat.delete(d.id);
  }
};

const run = async (d: Delivery, deps: PipelineDeps): Promise<void> => {
  const { report } = deps;
  const verdict = await admit(d, {
    status: deps.status,
    deployer: deps.deployer,
    maxDeliveries: deps.config.maxDeliveries,
    checkDirect: deps.checkDirect,
  });
  if (verdict.kind === "garbage") {
    const log = deps.log.child({ entry_id: d.id, deliveries: d.deliveries });
    return report.deadLettered(d, verdict.reason, verdict.cause, log);
  }
  const r = verdict.request;
  const log = deps.log.child({
    request_id: r.request_id,
    agent_id: r.agent_id,
    target: r.target_agent,
    action: r.payload.action,
    entry_id: d.id,
    deliveries: d.deliveries,
  });
  switch (verdict.kind) {
    case "duplicate":
      return report.duplicate(d, r, verdict.firstEntryId, log);
    case "finished":
      return report.alreadyFinished(d, verdict.state, log);
    case "exhausted":
      return report.deadLettered(
        d,
        `delivered ${d.deliveries} times, more than ${deps.config.maxDeliveries}`,
        "max_deliveries",
        log,
        r,
      );
    case "refused":
      return report.rejected(d, r, verdict.refusal, log);
    case "error":
      return report.failure(d, r, verdict.error, log);
  }

  const acquired = await deps.locks.acquire(r.target_agent);
  if (!acquired.ok) return report.busy(d, acquired.holder, log);
  // Once the lock is held, not before: an entry waiting for its target's lock comes back here
  // every second or so, and the README promises one line per request the runner took.
  // The upstream listener's words, which its operators grep for.
  log.info(`Processing improvement request: ${r.request_id} for ${r.target_agent}`);
  const { lock } = acquired;
  try {
    const head = await deps.status.head(r.request_id);
    const job: Job = {
      delivery: d,
      request: r,
      state: head.state ?? verdict.state,
      lastRunner: head.runnerId,
    };
    const exec = await execute(job, lock, {
      status: deps.status,
      deployer: deps.deployer,
      runnerId: deps.config.runnerId,
      stopSignal: deps.stopSignal,
      windDownMs: 2000,
      clock: deps.clock,
      coalesce: (carrier) => coalesce(carrier, deps, log),
    });
    switch (exec.kind) {
      case "done":
        return await report.finished(d, r, exec.outcome, exec.durationMs, log);
      case "superseded":
        return await report.superseded(d, exec.current, log);
      case "handed_back":
        // No more beats for it: they would reset the idle time the hand-back sets.
        deps.heartbeat.delete(d.id);
        return await report.handedBack(d, r, log);
      case "error":
        return await report.failure(d, r, exec.error, log);
    }
  } finally {
    await lock
      .release()
      .catch((err) => log.warn({ err }, "could not release the target lock; it will expire"));
  }
};

/** Marks the open requests identical to the carrier's, queued before its deploy starts, as carried out by it. */
const coalesce = async (
  carrier: Job,
  deps: PipelineDeps,
  log: Logger,
): Promise<readonly ImprovementRequest[]> => {
  const open = (await deps.consumer.openEntries(COALESCE_SCAN)).flatMap((e) => {
    const decoded = decodeStreamEntry(e.id, e.fields);
    return decoded.ok ? [{ id: e.id, request: decoded.request, pending: e.pending }] : [];
  });
  // Entries this runner holds for a retry may be among them: once acked, the heartbeat finds them
  // gone and drops them from the schedule.
  const picked = pickCoalesced({ id: carrier.delivery.id, request: carrier.request }, open);
  const carried = await deps.report.coalesced(carrier.request, picked, log);
  await deps.status.addCarried(
    carrier.request.request_id,
    carried.map((r) => r.request_id),
  );
  return carried;
};
