import { setTimeout as sleep } from "node:timers/promises";
import { allowedFrom, type ImprovementRequest, type RequestState } from "../shared/protocol/index.js";
import type { Delivery } from "./consume.js";
import { LockLostError } from "./errors.js";
import type { HeldLock } from "./lock.js";
import type { DeployContext, Deployer, DeployOutcome } from "./ports.js";
import type { StatusStore } from "./status.js";

/** The reason the runner's stop signal carries once the grace period is over. */
export class RunnerStopping extends Error {
  constructor() {
    super("the runner is stopping and its grace period is over");
    this.name = "RunnerStopping";
  }
}

/** A request the runner has validated and is about to carry out. */
export interface Job {
  readonly delivery: Delivery;
  readonly request: ImprovementRequest;
  /** Its state when this delivery began. */
  readonly state: RequestState;
  /** The runner that last ran it, from its status record. */
  readonly lastRunner?: string;
}

export type Execution =
  | { kind: "done"; outcome: DeployOutcome; durationMs: number }
  /** Its status moved meanwhile (another runner coalesced or finished it): nothing to do. */
  | { kind: "superseded"; current?: RequestState }
  | { kind: "error"; error: unknown }
  /** The runner stopped before the deploy finished: the request goes back to the queue. */
  | { kind: "handed_back" };

export interface ExecuteDeps {
  readonly status: StatusStore;
  readonly deployer: Deployer;
  readonly runnerId: string;
  /** Aborted with RunnerStopping when a stop's grace period runs out. */
  readonly stopSignal: AbortSignal;
  /** How long to let an aborted deploy wind down before the lock is released anyway. */
  readonly windDownMs: number;
  /** Marks the requests this deploy also carries out (and returns them); runs once the job is `running`. */
  readonly coalesce: (job: Job) => Promise<readonly ImprovementRequest[]>;
  readonly clock: () => number;
}

const IN_PROGRESS: ReadonlySet<RequestState> = new Set(["running", "building", "deploying"]);

const abortable = <T>(work: Promise<T>, signal: AbortSignal): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });

/** Runs the deploy of a validated job while its target lock is held. */
export const execute = async (job: Job, lock: HeldLock, deps: ExecuteDeps): Promise<Execution> => {
  const { request, delivery } = job;
  const id = request.request_id;
  if (IN_PROGRESS.has(job.state)) {
    // Its last runner stopped mid-job; the timeline says so before it starts over.
    await deps.status.move(id, "queued", {
      detail: `picked up again after runner ${job.lastRunner ?? "?"} stopped mid-job`,
    });
  }
  const started = await deps.status.move(id, "running", {
    detail: `runner ${deps.runnerId} started it (delivery ${delivery.deliveries})`,
    fields: { runner_id: deps.runnerId, fence: lock.fence, deliveries: delivery.deliveries },
  });
  if (!started.ok) return { kind: "superseded", current: started.current };
  const carries = await deps.coalesce(job);

  const signal = AbortSignal.any([lock.lost, deps.stopSignal]);
  const ctx: DeployContext = {
    request,
    fence: lock.fence,
    signal,
    // A second report in the same state is progress within it, not a move: the timeline records it.
    progress: async (state, detail) => {
      const r = await deps.status.move(id, state, { detail, from: [...allowedFrom(state), state] });
      if (!r.ok) throw new LockLostError(`request ${id} moved to '${r.current ?? r.error}' meanwhile`);
    },
    assertLockHeld: () => lock.renew(),
    carries,
  };
  const startedAt = deps.clock();
  const work = Promise.resolve().then(() => deps.deployer.deploy(ctx));
  try {
    const outcome = await abortable(work, signal);
    return { kind: "done", outcome, durationMs: deps.clock() - startedAt };
  } catch (error) {
    if (signal.aborted) {
      await Promise.race([work.catch(() => undefined), sleep(deps.windDownMs)]);
    }
    if (error instanceof RunnerStopping) return { kind: "handed_back" };
    return { kind: "error", error };
  }
};
