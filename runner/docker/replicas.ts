import { randomBytes } from "node:crypto";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { TransientError } from "../errors.js";
import type { DeployContext } from "../ports.js";
import { classify, tolerate } from "./docker-errors.js";
import { assertNoEscalation } from "./escalation.js";
import { execBounded } from "./exec.js";
import { assertFenceNow } from "./fence.js";
import { STATE } from "./labels.js";
import type { TargetPolicy } from "./policy.js";
import type { Spec } from "./spec.js";
import type { InspectedContainer } from "./types.js";

/**
 * The only place that creates, starts, stops and removes containers. Every step that changes the
 * target first asks the queue side whether the target lock is still held, then checks that no later
 * deploy has created a container of the target since (see fence.ts); each new container carries
 * the deploy's fence.
 */
export interface ReplicaEnv {
  readonly docker: Dockerode;
  readonly log: Logger;
  readonly ctx: Pick<DeployContext, "assertLockHeld" | "fence" | "progress" | "signal">;
  readonly policy: TargetPolicy;
  readonly repository?: string;
}

export const shortId = (c: { Id: string } | string): string =>
  (typeof c === "string" ? c : c.Id).slice(0, 12);

/** Before each step that changes the target: the lock as the queue side sees it, then the fence as Docker does. */
const assertStillOurs = async (env: ReplicaEnv): Promise<void> => {
  await env.ctx.assertLockHeld();
  await assertFenceNow(env.docker, env.policy.name, env.ctx.fence, {
    assertLockHeld: env.ctx.assertLockHeld,
  });
};

const newName = (policy: TargetPolicy): string => {
  const suffix = randomBytes(4).toString("hex");
  return policy.compose
    ? `${policy.compose.project}_${policy.compose.service}_${suffix}`
    : `${policy.name}-${suffix}`;
};

/**
 * Creates a container from the spec beside the one it replaces (`against`, checked again for
 * added privilege with the final options), joins its other networks, and starts it.
 */
export const startReplica = async (
  env: ReplicaEnv,
  spec: Spec,
  against?: InspectedContainer,
): Promise<string> => {
  const options = {
    ...spec.options,
    name: newName(env.policy),
    // Outside the spec identity: replicas a retry creates under a higher fence are still at the spec.
    Labels: { ...spec.options.Labels, [STATE.fence]: String(env.ctx.fence) },
  };
  if (against) assertNoEscalation(against, { options, extraNetworks: spec.extraNetworks }, env.repository);
  await assertStillOurs(env);
  let id: string;
  try {
    id = (await env.docker.createContainer(options as unknown as Dockerode.ContainerCreateOptions)).id;
  } catch (err) {
    throw classify(`creating ${options.name}`, err);
  }
  try {
    const created = (await env.docker.getContainer(id).inspect()) as unknown as InspectedContainer;
    if (created.Image !== spec.imageId) {
      // The tag moved between resolving and creating: never run an image nobody checked.
      await tolerate(env.docker.getContainer(id).remove({ force: true }), 404);
      throw new TransientError(`${options.Image} resolved to ${created.Image}, expected ${spec.imageId}`);
    }
    for (const n of spec.extraNetworks) {
      await env.docker
        .getNetwork(n.name)
        .connect({ Container: id, EndpointConfig: n.settings as Dockerode.EndpointSettings });
    }
    await assertStillOurs(env);
    await env.docker.getContainer(id).start();
  } catch (err) {
    throw classify(`starting ${options.name}`, err);
  }
  env.log.info({ container: options.name, id: shortId(id), image: options.Image }, "started replica");
  return id;
};

/** Runs the pre-stop hook in the old container, bounded by its timeout; its failure does not stop the retirement. */
const runPrestop = async (env: ReplicaEnv, c: InspectedContainer): Promise<void> => {
  const hook = env.policy.prestop;
  if (!hook) return;
  const started = Date.now();
  try {
    const r = await execBounded(env.docker, c.Id, hook.cmd, hook.timeoutMs);
    env.log.info(
      {
        container: shortId(c),
        exitCode: r.timedOut ? undefined : r.exitCode,
        ms: Date.now() - started,
        timedOut: r.timedOut,
        output: r.output || undefined,
      },
      "pre-stop hook done",
    );
  } catch (err) {
    env.log.warn(
      { container: shortId(c), err: (err as Error).message },
      "pre-stop hook failed; stopping anyway",
    );
  }
};

/** Stop with the container's own stop signal and grace period (Docker applies them when none is given), then remove. */
const stopAndRemove = async (env: ReplicaEnv, id: string): Promise<void> => {
  await assertStillOurs(env);
  try {
    await tolerate(env.docker.getContainer(id).stop(), 304, 404);
  } catch (err) {
    throw classify(`stopping ${shortId(id)}`, err);
  }
  await assertStillOurs(env);
  try {
    await tolerate(env.docker.getContainer(id).remove(), 404, 409);
  } catch (err) {
    throw classify(`removing ${shortId(id)}`, err);
  }
};

/** Takes an old replica out once its replacement is healthy: pre-stop hook, stop, remove. */
export const retire = async (env: ReplicaEnv, c: InspectedContainer): Promise<void> => {
  await assertStillOurs(env);
  await runPrestop(env, c);
  await stopAndRemove(env, c.Id);
  env.log.info({ container: c.Name.replace(/^\//, ""), id: shortId(c) }, "retired replica");
};

/** Removes a container that never became (or no longer is) a serving replica. */
export const discard = async (env: ReplicaEnv, id: string): Promise<void> => {
  await stopAndRemove(env, id);
  env.log.info({ id: shortId(id) }, "discarded container");
};
