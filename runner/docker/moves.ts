import type Dockerode from "dockerode";
import type { ImprovementPayload, ImprovementRequest } from "../../shared/protocol/index.js";
import { PermanentError } from "../errors.js";
import { buildImage, findBuilt } from "./build.js";
import { buildSource } from "./compose.js";
import { messageOf } from "./docker-errors.js";
import { formatRef, parseImageRef } from "./image-ref.js";
import { nextHistory, type RevisionRecord, revisionFor, rollbackTarget } from "./revisions.js";
import { inspectImage, type TargetView } from "./target.js";
import type { InspectedContainer } from "./types.js";

/**
 * What each action changes about the target's revision: which image, which env, which history.
 * The rollout that carries a move out is the same for all of them (see actions.ts).
 */

export interface PlanEnv {
  readonly docker: Dockerode;
  readonly progress: (state: "building", detail: string) => Promise<void>;
  readonly assertLockHeld: () => Promise<void>;
  readonly signal: AbortSignal;
  /** Requests coalesced into this deploy's (DeployContext.carries). */
  readonly carries: readonly ImprovementRequest[];
}

/** A revision the request moves the target to: its image, env, and where the image came from. */
export interface Move {
  readonly rev: string;
  readonly imageId: string;
  readonly env: readonly string[];
  readonly source?: string;
  /** The history after the move; undefined: unchanged (a restart keeps its revision). */
  readonly history?: RevisionRecord[];
}

/** `update_config`: set or (with null) unset the container's own env keys. */
export const applyEnv = (env: readonly string[], changes: Record<string, string | null>): string[] => {
  const out = env.filter((e) => !(e.slice(0, e.indexOf("=")) in changes));
  for (const [k, v] of Object.entries(changes)) if (v !== null) out.push(`${k}=${v}`);
  return out;
};

const pull = async (docker: Dockerode, ref: string): Promise<void> => {
  try {
    const stream = await docker.pull(ref);
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  } catch (err) {
    throw new PermanentError(`image ${ref} is not on this host and pulling it failed: ${messageOf(err)}`);
  }
};

const sameRevision = (view: TargetView, base: InspectedContainer): Move => {
  const current = view.current as RevisionRecord;
  return { rev: current.rev, imageId: base.Image, env: view.env, source: current.source };
};

/** The image a redeploy runs: the one named (pulled if absent), else its source reference resolved again. */
const redeployMove = async (
  docker: Dockerode,
  view: TargetView,
  base: InspectedContainer,
  request: ImprovementRequest,
  image: string | undefined,
): Promise<Move> => {
  const current = view.current as RevisionRecord;
  const named = parseImageRef(base.Config.Image ?? "") ? base.Config.Image : undefined;
  const source = image ?? current.source ?? named;
  if (source === undefined) return sameRevision(view, base);
  let found = await inspectImage(docker, source);
  if (!found && image !== undefined) {
    await pull(docker, image);
    found = await inspectImage(docker, image);
  }
  if (!found) {
    if (image !== undefined) throw new PermanentError(`image ${image} is not on this host`);
    return sameRevision(view, base);
  }
  if (found.Id === base.Image) return sameRevision(view, base);
  const history = nextHistory(current, view.history);
  return { rev: revisionFor(request), imageId: found.Id, env: view.env, source, history };
};

export const move = async (
  env: PlanEnv,
  view: TargetView,
  base: InspectedContainer,
  request: ImprovementRequest,
  payload: Exclude<ImprovementPayload, { action: "scale" | "rebuild" }>,
): Promise<Move> => {
  const current = view.current as RevisionRecord;
  switch (payload.action) {
    case "restart":
      return sameRevision(view, base);
    case "redeploy":
      return redeployMove(env.docker, view, base, request, payload.image);
    case "update_config":
      return {
        rev: revisionFor(request),
        imageId: base.Image,
        env: applyEnv(view.env, payload.env),
        source: current.source,
        history: nextHistory(current, view.history),
      };
    case "rollback": {
      const to = rollbackTarget(view.policy.name, view.history, payload.revision);
      return {
        rev: to.rev,
        imageId: to.image,
        env: to.env,
        source: to.source,
        history: nextHistory(current, view.history, to.rev),
      };
    }
  }
};

/** `rebuild`: the image an earlier attempt built for this request, or a fresh build. */
export const rebuildMove = async (
  env: PlanEnv,
  view: TargetView,
  request: ImprovementRequest,
  payload: Extract<ImprovementPayload, { action: "rebuild" }>,
): Promise<Move | { failed: string; log: string }> => {
  const current = view.current as RevisionRecord;
  const rev = revisionFor(request);
  const repository = view.repository as string;
  const ref = formatRef(repository, rev);
  let imageId = await findBuilt(env.docker, view.policy.name, request.request_id);
  if (!imageId) {
    const source = await buildSource(view.policy);
    // The agent reads progress: where the context lies on the runner's disk is not its business.
    await env.progress("building", `building ${ref} (context from ${source.from})`);
    await env.assertLockHeld();
    const built = await buildImage(env.docker, {
      source,
      ref,
      args: payload.build_args ?? {},
      noCache: payload.no_cache ?? false,
      target: view.policy.name,
      revision: rev,
      requestId: request.request_id,
      signal: env.signal,
    });
    if (!built.ok) return { failed: built.detail, log: built.log };
    imageId = built.imageId;
  }
  return { rev, imageId, env: view.env, source: ref, history: nextHistory(current, view.history) };
};
