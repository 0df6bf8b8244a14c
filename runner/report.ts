import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Keys } from "../shared/keys.js";
import { allowedFrom, type ImprovementRequest, type RequestState } from "../shared/protocol/index.js";
import { backoffMs } from "./backoff.js";
import type { OpenRequest } from "./coalesce.js";
import type { RunnerConfig } from "./config.js";
import type { Delivery, StreamConsumer } from "./consume.js";
import { deadLetter } from "./dead-letter.js";
import type { DeploymentEvents } from "./deployment-events.js";
import { isRetryable, type PolicyRefusal } from "./errors.js";
import type { Metrics } from "./metrics.js";
import type { DeployOutcome } from "./ports.js";
import type { RetrySchedule } from "./schedule.js";
import { recordFields, type StatusStore } from "./status.js";

export interface ReportDeps {
  readonly redis: Redis;
  readonly keys: Keys;
  readonly config: RunnerConfig;
  readonly status: StatusStore;
  readonly consumer: StreamConsumer;
  readonly schedule: RetrySchedule;
  readonly metrics: Metrics;
  readonly events: DeploymentEvents;
  readonly clock: () => number;
  readonly random: () => number;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const action = (r: ImprovementRequest): string => r.payload.action;

/**
 * Records what became of a delivery: the status, the acknowledgement (always after the status,
 * so that a crash in between means a redelivery that finds the request finished), the metrics
 * and the log line; or, for a request to try again, when.
 */
export class Reporter {
  constructor(private readonly deps: ReportDeps) {}

  async finished(
    d: Delivery,
    r: ImprovementRequest,
    outcome: DeployOutcome,
    durationMs: number,
    log: Logger,
  ) {
    const { status, metrics } = this.deps;
    const fields = {
      revision: outcome.revision,
      image: outcome.image,
      image_id: outcome.imageId,
      carried_out_as: outcome.carriedOutAs,
      health_log: outcome.healthLog,
      build_log: outcome.buildLog,
    };
    let moved = await status.move(r.request_id, outcome.state, { detail: outcome.detail, fields });
    if (!moved.ok && moved.current === "building" && outcome.state !== "failed") {
      // The state machine reaches success only through `deploying`; a deployer that reported a
      // build and then finished without reporting the rollout still gets its outcome recorded.
      await status.move(r.request_id, "deploying", { detail: "rolled out" });
      moved = await status.move(r.request_id, outcome.state, { detail: outcome.detail, fields });
    }
    await this.deps.consumer.ack(d.id);
    metrics.processed.inc({ action: action(r), outcome: outcome.state });
    metrics.deployDuration.observe({ action: action(r), outcome: outcome.state }, durationMs / 1000);
    log.info(
      {
        outcome: outcome.state,
        detail: outcome.detail,
        revision: outcome.revision,
        carried_out_as: outcome.carriedOutAs,
        duration_ms: durationMs,
      },
      "Improvement request finished",
    );
    if (!moved.ok) log.warn({ current: moved.current }, "status had moved on; outcome not recorded over it");
  }

  async duplicate(d: Delivery, r: ImprovementRequest, firstEntryId: string, log: Logger) {
    await this.deps.status.note(
      r.request_id,
      `stream entry ${d.id} asked the same again under this id: acknowledged, not run twice`,
      "duplicates",
    );
    await this.deps.consumer.ack(d.id);
    this.deps.metrics.duplicates.inc({ action: action(r) });
    log.info(
      { first_entry_id: firstEntryId },
      "Duplicate of a request already taken; acknowledged without running it",
    );
  }

  async alreadyFinished(d: Delivery, state: RequestState, log: Logger) {
    await this.deps.consumer.ack(d.id);
    log.info({ outcome: state }, "Improvement request already finished; acknowledged without redoing it");
  }

  async superseded(d: Delivery, current: RequestState | undefined, log: Logger) {
    await this.deps.consumer.ack(d.id);
    log.info({ outcome: current }, "Improvement request was finished by another runner meanwhile");
  }

  async rejected(d: Delivery, r: ImprovementRequest, refusal: PolicyRefusal, log: Logger) {
    await this.deps.status.move(r.request_id, "rejected", {
      detail: refusal.message,
      fields: { refusal_code: refusal.code },
    });
    await this.deps.consumer.ack(d.id);
    this.deps.metrics.processed.inc({ action: action(r), outcome: "rejected" });
    log.info(
      { outcome: "rejected", code: refusal.code, detail: refusal.message },
      "Improvement request rejected",
    );
  }

  /** A failed attempt: retried after a backoff if transient and deliveries remain, else final. */
  async failure(d: Delivery, r: ImprovementRequest, error: unknown, log: Logger) {
    const { config, metrics, clock } = this.deps;
    if (!isRetryable(error)) {
      await this.deps.status.move(r.request_id, "failed", { detail: message(error) });
      await this.deps.consumer.ack(d.id);
      metrics.failed.inc({ action: action(r), kind: "permanent" });
      metrics.processed.inc({ action: action(r), outcome: "failed" });
      log.warn({ outcome: "failed", err: error }, "Improvement request failed");
      return;
    }
    metrics.failed.inc({ action: action(r), kind: "transient" });
    if (d.deliveries >= config.maxDeliveries) {
      const reason = `gave up after ${d.deliveries} deliveries; last error: ${message(error)}`;
      return this.deadLettered(d, reason, "max_deliveries", log, r);
    }
    const at = clock() + backoffMs(d.deliveries, config.retryBaseMs, config.retryMaxMs, this.deps.random);
    const when = new Date(at).toISOString();
    await this.deps.status.move(r.request_id, "queued", {
      detail: `attempt ${d.deliveries} of ${config.maxDeliveries} failed (${message(error)}); retrying at ${when}`,
      fields: { retry_at: when },
      // A retry note on a request that never left `queued` (its check failed) stays in `queued`.
      from: [...allowedFrom("queued"), "queued"],
    });
    this.deps.schedule.set(d.id, at, true);
    log.warn({ outcome: "retry", retry_at: when, err: error }, "Improvement request will be retried");
  }

  /** Its target is being deployed by someone else: look again soon; that is not a failed delivery. */
  busy(d: Delivery, holder: string, log: Logger) {
    const wait = Math.min(this.deps.config.retryBaseMs, 1000) * (0.5 + this.deps.random() / 2);
    this.deps.schedule.set(d.id, this.deps.clock() + Math.round(wait), false);
    log.debug({ holder }, "target is locked; waiting");
  }

  /** The runner is stopping before the deploy finished: back to `queued`, not acknowledged. */
  async handedBack(d: Delivery, r: ImprovementRequest, log: Logger) {
    await this.deps.status.move(r.request_id, "queued", {
      detail: `runner ${this.deps.config.runnerId} stopped before finishing; handed back to the queue`,
    });
    // Idle as long as the claim threshold: another runner may take it up at once.
    await this.deps.consumer.touch([d.id], this.deps.config.claimIdleMs);
    log.warn({ outcome: "handed_back" }, "Improvement request handed back");
  }

  async deadLettered(d: Delivery, reason: string, kind: string, log: Logger, r?: ImprovementRequest) {
    const { redis, keys, status, config, clock } = this.deps;
    await deadLetter(
      redis,
      keys,
      status,
      { runnerId: config.runnerId, maxLen: config.deadLetterMaxLen, now: clock() },
      {
        entryId: d.id,
        fields: d.fields,
        reason,
        deliveries: d.deliveries,
        requestId: r?.request_id,
        create: r && recordFields(r, d.id),
      },
    );
    this.deps.metrics.deadLettered.inc({ reason: kind });
    // Its agent may be waiting on the id it wrote (with a record, the final move announces it); not
    // so for a reused id, whose listener waits for the request the id first named.
    if (!r && kind !== "id_reused") this.deps.events.unrecorded(d.fields, reason);
    if (r) this.deps.metrics.processed.inc({ action: action(r), outcome: "dead_lettered" });
    log.warn({ outcome: "dead_lettered", reason }, "Entry moved to the dead-letter stream");
  }

  /**
   * Requests the carrier's deploy also carries out: `coalesced`, and acked if handed out already.
   * Returns those it moved (one that left `queued` meanwhile is not the carrier's).
   */
  async coalesced(
    carrier: ImprovementRequest,
    picked: readonly (OpenRequest & { pending: boolean })[],
    log: Logger,
  ): Promise<ImprovementRequest[]> {
    const { status, consumer, metrics } = this.deps;
    const carried: ImprovementRequest[] = [];
    for (const o of picked) {
      const moved = await status.move(o.request.request_id, "coalesced", {
        detail: `carried out by request ${carrier.request_id}`,
        fields: { coalesced_into: carrier.request_id },
        // No `create`: an entry with no status record yet was written straight to the stream and
        // not yet checked against its agent's scope and limits; it is admitted on its own.
        from: ["queued"],
      });
      if (!moved.ok) continue;
      carried.push(o.request);
      // Entries no runner has read yet are acked when they are: their status is final by then.
      if (o.pending) await consumer.ack(o.id);
      metrics.coalesced.inc({ action: action(o.request) });
      metrics.processed.inc({ action: action(o.request), outcome: "coalesced" });
      log.info(
        { coalesced_request_id: o.request.request_id, entry_id: o.id },
        "Coalesced a piled-up request",
      );
    }
    return carried;
  }
}
