import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { GroupInfo } from "./consume.js";

export interface QueueGauges {
  /** The group's state, read when Prometheus scrapes (not on a timer). */
  readonly groupInfo: () => Promise<GroupInfo | undefined>;
  /** Entries this runner holds: the job in hand and those waiting for a retry or a lock. */
  readonly held: () => number;
}

/** The runner's metrics, in a Registry of its own so that several runners can share a process. */
export const createMetrics = (queue: QueueGauges) => {
  const registry = new Registry();
  const registers = [registry];
  const metrics = {
    registry,
    processed: new Counter({
      name: "hypercode_runner_requests_processed_total",
      help: "Requests that reached a final state here, by action and outcome",
      labelNames: ["action", "outcome"] as const,
      registers,
    }),
    failed: new Counter({
      name: "hypercode_runner_attempts_failed_total",
      help: "Failed attempts, by action and kind (transient: retried; permanent: the request failed)",
      labelNames: ["action", "kind"] as const,
      registers,
    }),
    deadLettered: new Counter({
      name: "hypercode_runner_dead_lettered_total",
      help: "Entries moved to the dead-letter stream, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    coalesced: new Counter({
      name: "hypercode_runner_requests_coalesced_total",
      help: "Requests carried out by another request's deploy, by action",
      labelNames: ["action"] as const,
      registers,
    }),
    duplicates: new Counter({
      name: "hypercode_runner_requests_duplicate_total",
      help: "Second entries with an id already taken for the same request, acknowledged without running, by action",
      labelNames: ["action"] as const,
      registers,
    }),
    deployDuration: new Histogram({
      name: "hypercode_runner_deploy_duration_seconds",
      help: "Time a deploy took, by action and outcome",
      labelNames: ["action", "outcome"] as const,
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers,
    }),
  };
  new Gauge({
    name: "hypercode_runner_queue_lag",
    help: "Entries of the request stream not yet handed to any runner",
    registers,
    async collect() {
      const lag = (await queue.groupInfo())?.lag;
      if (lag !== null && lag !== undefined) this.set(lag);
    },
  });
  new Gauge({
    name: "hypercode_runner_pending",
    help: "Entries handed to a runner of the group and not yet acknowledged",
    registers,
    async collect() {
      this.set((await queue.groupInfo())?.pending ?? 0);
    },
  });
  new Gauge({
    name: "hypercode_runner_held",
    help: "Entries this runner holds: the job in hand and those waiting for a retry or a lock",
    registers,
    collect() {
      this.set(queue.held());
    },
  });
  return metrics;
};

export type Metrics = ReturnType<typeof createMetrics>;
