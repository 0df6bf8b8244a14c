import Dockerode from "dockerode";
import type { Logger } from "pino";
import type { ImprovementRequest } from "../../shared/protocol/index.js";
import { SLUG_PATTERN } from "../../shared/protocol/slug.js";
import type { Deployer, TargetCatalog } from "../ports.js";
import { checkRequest, policyFor } from "./check-request.js";
import { type DeployDeps, deploy } from "./deploy.js";
import { describeTarget, discover, onceLogger } from "./discover.js";
import { classify } from "./docker-errors.js";
import { loadTarget, type TargetView } from "./target.js";

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

  const deployDeps: DeployDeps = {
    docker,
    log: opts.log,
    clock,
    health: { timeoutMs: healthTimeoutMs, settleMs, clock, pollMs: opts.healthPollMs },
    prepare,
  };

  return {
    catalog: { list: async () => [...(await discovered()).targets.values()].map(describeTarget) },
    deployer: {
      validate: async (request) => {
        await prepare(request);
      },
      deploy: async (ctx) => {
        try {
          return await deploy(deployDeps, ctx);
        } catch (err) {
          // An abort (lock lost, runner stopping) keeps its own reason for the queue side.
          if (ctx.signal.aborted) throw err;
          throw classify(`deploying ${ctx.request.target_agent}`, err);
        }
      },
    },
  };
};
