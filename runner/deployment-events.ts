import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Keys } from "../shared/keys.js";
import {
  carriesOf,
  type DeploymentEvent,
  deploymentEventOf,
  fieldsToRecord,
  PAYLOAD_FIELD,
  type RequestState,
  readStatusRecord,
  timelineText,
  unrecordedEntryEventOf,
} from "../shared/protocol/index.js";

export interface DeploymentEventsDeps {
  readonly redis: Redis;
  readonly keys: Keys;
  readonly log: Logger;
}

/** Timeline lines a `logs` field holds at most: enough to see what happened, bounded for pub/sub. */
const MAX_TIMELINE = 50;

/**
 * Publishes `events:deployment:success|failure` for every finished request, as the original
 * HyperCode system's agents expect (shared/protocol/deployment-event.ts). A coalesced request is
 * announced when the request that carried it out ends, with that request's outcome. Pub/sub is
 * fire and forget, for them as for us: the status record stays the durable answer.
 */
export class DeploymentEvents {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: DeploymentEventsDeps) {}

  finished(requestId: string, state: RequestState): void {
    // Its carrier announces it, once the carrier's own outcome is known.
    if (state === "coalesced") return;
    this.track(this.announce(requestId, state), requestId);
  }

  /** An entry dead-lettered without a status record: its agent may still be waiting on the id it wrote. */
  unrecorded(fields: Record<string, string>, reason: string): void {
    const event = unrecordedEntryEventOf(fields[PAYLOAD_FIELD], reason);
    if (event) this.track(this.publish(event), event.request_id);
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<void>, requestId: string): void {
    const q = p.catch((err) =>
      this.deps.log.warn({ err, request_id: requestId }, "could not publish the deployment event"),
    );
    this.inFlight.add(q);
    void q.finally(() => this.inFlight.delete(q));
  }

  private async announce(requestId: string, outcome: RequestState, asCarried = false): Promise<void> {
    const { redis, keys } = this.deps;
    const key = keys.request(requestId);
    if (asCarried) await redis.hset(key, "carrier_state", outcome);
    const [status, events] = await Promise.all([
      redis.hgetall(key),
      redis.xrevrange(keys.requestEvents(requestId), "+", "-", "COUNT", MAX_TIMELINE),
    ]);
    const record = readStatusRecord(status);
    if (!record) return;
    const timeline = events.reverse().map(([, f]) => fieldsToRecord(f));
    await this.publish(deploymentEventOf(record, timelineText(timeline), outcome));
    // Only a request that ran carries others; one carried never did.
    if (!asCarried)
      for (const carried of carriesOf(record.carries)) await this.announce(carried, outcome, true);
  }

  private async publish(event: DeploymentEvent): Promise<void> {
    const { keys } = this.deps;
    await this.deps.redis.publish(
      event.success ? keys.deploymentSuccess : keys.deploymentFailure,
      JSON.stringify(event),
    );
  }
}
