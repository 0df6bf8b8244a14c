import type Dockerode from "dockerode";
import type { Logger } from "pino";
import type { ImprovementRequest } from "../../shared/protocol/index.js";
import type { DeployContext, DeployOutcome } from "../ports.js";
import { assertNotFenced } from "./fence.js";
import type { HealthOptions } from "./health.js";
import { POLICY } from "./labels.js";
import { planDeploy } from "./plan-deploy.js";
import { carriedOut } from "./policy.js";
import { ensureTag, revisionFor } from "./revisions.js";
import { rollout } from "./rollout.js";
import { sweepTags } from "./sweep.js";
import type { TargetView } from "./target.js";

export interface DeployDeps {
  readonly docker: Dockerode;
  readonly log: Logger;
  readonly clock: () => number;
  readonly health: Omit<HealthOptions, "http" | "signal">;
  /** Discovers the target and checks the request against its policy (check-request.ts). */
  readonly prepare: (request: ImprovementRequest) => Promise<TargetView>;
}

/**
 * Whatever the rollout's result: the target's revision tags nothing needs any more go (see
 * sweep.ts). Best effort, and never a reason to change the outcome: what it misses stays listed
 * in the new containers' `hypercode.dropped`, for the next deploy's sweep.
 */
const sweep = async (docker: Dockerode, view: TargetView, ctx: DeployContext, log: Logger): Promise<void> => {
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

/** One deploy, start to end: check again, plan, tag, roll out, sweep; the outcome in one line. */
export const deploy = async (deps: DeployDeps, ctx: DeployContext): Promise<DeployOutcome> => {
  const { docker, clock } = deps;
  const { request } = ctx;
  const started = clock();
  const log = deps.log.child({ request_id: request.request_id, target: request.target_agent });
  // Checked again here, not only in validate(): time has passed and the target may have changed.
  const view = await deps.prepare(request);
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
      health: deps.health,
    },
    planned.plan,
  );
  await sweep(docker, view, ctx, log);
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
