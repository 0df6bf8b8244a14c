import type { Action, ImprovementRequest, PublishedTarget } from "../shared/protocol/index.js";

/**
 * The seam between the queue side of the runner (consume, lock, retry, status) and the Docker
 * side (discover, validate, plan, roll out). The queue side knows nothing of Docker; the Docker
 * side knows nothing of streams.
 */

/** A target as the Docker side discovered it from its containers' labels. */
export interface Target {
  readonly name: string;
  readonly actions: readonly Action[];
  readonly replicas: number;
  /** The revision currently running, if the runner deployed it. */
  readonly revision?: string;
  /** A per-target change budget from a label, published for the intake to enforce. */
  readonly budget?: PublishedTarget["budget"];
}

export interface TargetCatalog {
  /** Enabled targets only, already narrowed by the runner's HYPERCODE_TARGETS allowlist. */
  list(): Promise<Target[]>;
}

export type ProgressState = "building" | "deploying";

export interface DeployContext {
  readonly request: ImprovementRequest;
  /** The fencing token of the target lock this deploy holds. */
  readonly fence: number;
  /** Records progress in the request's status (and so in the live feed). */
  progress(state: ProgressState, detail: string): Promise<void>;
  /** Throws LockLostError if another runner now holds the target: call before each destructive step. */
  assertLockHeld(): Promise<void>;
  readonly signal: AbortSignal;
  /**
   * Requests coalesced into this one. An attempt of theirs that was cut short may have tagged its
   * revision already, and they will never run again: this deploy sweeps those tags with its own.
   */
  readonly carries?: readonly ImprovementRequest[];
}

export interface DeployOutcome {
  readonly state: "succeeded" | "failed" | "rolled_back";
  /** One line a human reads in the status: what happened, or why not. */
  readonly detail: string;
  readonly revision?: string;
  readonly image?: string;
  /** The id (sha256:…) of the image the new containers run; set with `image`, when they run. */
  readonly imageId?: string;
  /**
   * What the request was carried out as: its own action, or another one the target's policy
   * maps it to (a `redeploy` without an image is a `rebuild` under `hypercode.redeploy=rebuild`).
   */
  readonly carriedOutAs?: Action;
  /** The failing health check's output, when a new container never became healthy. */
  readonly healthLog?: string;
  /** The last lines of a failed build's output (`rebuild`). */
  readonly buildLog?: string;
}

export interface Deployer {
  /**
   * The runner's own check of a request against the target's policy, before any lock is taken or
   * any Docker call that changes something. Throws PolicyRefusal.
   */
  validate(request: ImprovementRequest): Promise<void>;
  /** Carries the request out. Throws TransientError to be retried, PermanentError to fail. */
  deploy(ctx: DeployContext): Promise<DeployOutcome>;
}
