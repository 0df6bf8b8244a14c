import Dockerode from "dockerode";
import type { Logger } from "pino";
import type { ImprovementRequest } from "../../shared/protocol/index.js";
import { SLUG_PATTERN } from "../../shared/protocol/slug.js";
import type { DeployContext, Deployer, DeployOutcome, TargetCatalog } from "../ports.js";
import { planDeploy } from "./actions.js";
import { describeTarget, discover, onceLogger } from "./discover.js";
import { classify } from "./docker-errors.js";
import { assertNotFenced } from "./fence.js";
import { POLICY } from "./labels.js";
import { carriedOut } from "./policy.js";
import { ensureTag, revisionFor } from "./revisions.js";
import { rollout } from "./rollout.js";
import { sweepTags } from "./sweep.js";
import { loadTarget, type TargetView } from "./target.js";
import { checkRequest, policyFor } from "./validate.js";

export interface DockerSideOptions {
  /** Defaults to `new Dockerode()`, which honours DOCKER_HOST. */
  readonly docker?: Dockerode;
  /** HYPERCODE_TARGETS: undefined serves every opted-in target; a list narrows to those names. */
  readonly allowlist?: readonly string[];
  /** How long a new replica has to become healthy. Default 60 s (docker-rollout's default). */
  readonly healthTimeoutMs?: number;
  /** Without HEALTHCHECK or probe label: how long it must run without restarting. Default 5 s. */
  readonly settleMs?: number;
  /** How often a health wait looks at a new replica between Docker's events about it. Default 100 ms. */
  readonly healthPollMs?: number;
  readonly log: Logger;
  readonly clock?: () => number;
}

export interface DockerSide {
  readonly catalog: TargetCatalog;
  readonly deployer: Deployer;
}

/**
 * The Docker side of the runner: target discovery from labels, the runner's own policy check,
 * and start-first rollouts of each action. Options are checked here, so a bad allowlist fails at
 * start rather than at the first request.
 */
export const createDockerSide = (opts: DockerSideOptions): DockerSide => {
  const docker = opts.docker ?? new Dockerode();
  const clock = opts.clock ?? Date.now;
  const healthTimeoutMs = opts.healthTimeoutMs ?? 60_000;
  const settleMs = opts.settleMs ?? 5_000;
  if (!(healthTimeoutMs > 0) || !(settleMs >= 0))
    throw new Error("healthTimeoutMs must be > 0 and settleMs >= 0");
  const badName = opts.allowlist?.find((n) => !SLUG_PATTERN.test(n));
  if (badName !== undefined) throw new Error(`allowlist entry '${badName}' is not a target name`);
  const allowlist = opts.allowlist ? new Set(opts.allowlist) : undefined;
  const warn = onceLogger(opts.log);
  const discovered = () => discover({ docker, allowlist, warn });

  const prepare = async (request: ImprovementRequest): Promise<TargetView> => {
    const policy = policyFor(await discovered(), request.target_agent);
    const view = await loadTarget(docker, policy, request.request_id);
    await checkRequest(docker, view, request);
    return view;
  };

  /**
   * Whatever the rollout's result: the target's revision tags nothing needs any more go (see
   * sweep.ts). Best effort, and never a reason to change the outcome: what it misses stays listed
   * in the new containers' `hypercode.dropped`, for the next deploy's sweep.
   */
  const sweep = async (view: TargetView, ctx: DeployContext, log: Logger): Promise<void> => {
    if (view.repository === undefined) return;
    try {
      await ctx.assertLockHeld();
      const removed = await sweepTags(docker, {
        target: view.policy.name,
        repository: view.repository,
        before: view.members.map((c) => c.Config.Labels),
        requests: [ctx.request, ...(ctx.carries ?? [])],
      });
      if (removed.length > 0) log.info({ removed }, "untagged revisions nothing needs any more");
    } catch (err) {
      log.warn({ err: String(err) }, "could not sweep the target's revision tags");
    }
  };

  const deploy = async (ctx: DeployContext): Promise<DeployOutcome> => {
    const { request } = ctx;
    const started = clock();
    const log = opts.log.child({ request_id: request.request_id, target: request.target_agent });
    // Checked again here, not only in validate(): time has passed and the target may have changed.
    const view = await prepare(request);
    const carriedOutAs = carriedOut(view.policy, request.payload).action;
    // Said first in every outcome's line: the agent asked for one action and got another.
    const said = (detail: string) =>
      carriedOutAs === request.payload.action
        ? detail
        : `${request.payload.action} carried out as a ${carriedOutAs} (${POLICY.redeploy}=${view.policy.redeploy}): ${detail}`;
    // Before building anything: a later deploy may have been at the target already.
    await assertNotFenced(
      view.policy.name,
      ctx.fence,
      view.members.map((c) => c.Config.Labels),
      {
        assertLockHeld: ctx.assertLockHeld,
        onBehind: (highest) =>
          log.warn(
            { fence: ctx.fence, highest },
            "the target's fence labels are ahead of this deploy's held lock: the fence counter in Redis went back; going on",
          ),
      },
    );
    const env = {
      docker,
      progress: ctx.progress,
      assertLockHeld: ctx.assertLockHeld,
      signal: ctx.signal,
      carries: ctx.carries ?? [],
    };
    const planned = await planDeploy(env, view, request);
    if (planned.kind === "build_failed") {
      log.warn({ detail: planned.detail }, "build failed");
      return { state: "failed", detail: said(planned.detail), buildLog: planned.log, carriedOutAs };
    }
    if (view.repository !== undefined) {
      for (const t of planned.tags) {
        await ctx.assertLockHeld();
        await ensureTag(docker, view.repository, t.rev, t.imageId, t.rev === revisionFor(request));
      }
    }
    log.info(
      {
        what: planned.plan.what,
        revision: planned.revision,
        image: planned.image,
        replicas: planned.plan.replicas,
      },
      "rolling out",
    );
    const result = await rollout(
      {
        docker,
        log,
        ctx,
        policy: view.policy,
        repository: view.repository,
        health: { timeoutMs: healthTimeoutMs, settleMs, clock, pollMs: opts.healthPollMs },
      },
      planned.plan,
    );
    await sweep(view, ctx, log);
    if (!result.ok) {
      return {
        state: result.restored ? "rolled_back" : "failed",
        detail: said(result.detail),
        healthLog: result.healthLog,
        revision: view.current?.rev,
        carriedOutAs,
      };
    }
    const secs = ((clock() - started) / 1000).toFixed(1);
    return {
      state: "succeeded",
      detail: said(
        `${planned.plan.what} of ${view.policy.name}: ${planned.plan.replicas} replica(s) at revision ${planned.revision} (${result.created} started, ${result.removed} retired, ${secs} s)`,
      ),
      revision: planned.revision,
      image: planned.image,
      imageId: planned.imageId,
      carriedOutAs,
    };
  };

  return {
    catalog: { list: async () => [...(await discovered()).targets.values()].map(describeTarget) },
    deployer: {
      validate: async (request) => {
        await prepare(request);
      },
      deploy: async (ctx) => {
        try {
          return await deploy(ctx);
        } catch (err) {
          // An abort (lock lost, runner stopping) keeps its own reason for the queue side.
          if (ctx.signal.aborted) throw err;
          throw classify(`deploying ${ctx.request.target_agent}`, err);
        }
      },
    },
  };
};
