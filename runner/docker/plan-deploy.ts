import type { ImprovementRequest } from "../../shared/protocol/index.js";
import { formatRef } from "./image-ref.js";
import { STATE, STATE_LABELS } from "./labels.js";
import { move, type PlanEnv, rebuildMove } from "./moves.js";
import { carriedOut } from "./policy.js";
import type { RevisionRecord } from "./revisions.js";
import type { RolloutPlan } from "./rollout.js";
import { deriveSpec, explicitEnv, type Spec } from "./spec.js";
import { droppedLabel, repositoryTags } from "./sweep.js";
import { inspectImage, isServing, sortByCreated, type TargetView } from "./target.js";
import type { InspectedContainer } from "./types.js";

/** What a deploy will do, worked out before the first container changes. */
export type Planned =
  | {
      readonly kind: "rollout";
      readonly plan: RolloutPlan;
      readonly revision: string;
      /** The reference the new containers are created from. */
      readonly image: string;
      /** The id (sha256:…) of the image the new containers run. */
      readonly imageId: string;
      /** Revision tags to write before the rollout: the new containers are created from them. */
      readonly tags: ReadonlyArray<{ readonly rev: string; readonly imageId: string }>;
    }
  /** The build failed: nothing was touched. */
  | { readonly kind: "build_failed"; readonly detail: string; readonly log: string };

const stateLabelsOf = (c: InspectedContainer): Record<string, string> =>
  Object.fromEntries(Object.entries(c.Config.Labels ?? {}).filter(([k]) => STATE_LABELS.includes(k)));

/**
 * The reference to create from: the revision's tag `<repository>:<rev>` when the repository is
 * known (the deploy tags it before the rollout, see Planned.tags), else the image id.
 */
const refName = (view: TargetView, rev: string, imageId: string): string =>
  view.repository === undefined ? imageId : formatRef(view.repository, rev);

/**
 * A new container just like the base: for scaling up and for putting replaced replicas back. The
 * privilege check inside deriveSpec compares it with the base; the policy check compares it with
 * every other replica, so replicas that differ in privilege are refused before anything changes.
 */
export const cloneSpec = (view: TargetView, base: InspectedContainer): Spec => {
  const current = view.current as RevisionRecord;
  return deriveSpec(
    base,
    view.baseImage,
    {
      image: refName(view, current.rev, base.Image),
      imageId: base.Image,
      env: [...view.env],
      state: { ...stateLabelsOf(base), [STATE.revision]: current.rev },
    },
    { repository: view.repository, identity: base.Config.Labels?.[STATE.spec] },
  );
};

/**
 * Replicas the target has now: a replica its restart policy is restarting counts, a leftover does
 * not. When the serving containers are of more than one spec, a rollout was cut short (a runner
 * killed between starting a new replica and retiring an old one) and the count includes its
 * extra replica: the size that rollout aimed at, on its newest container, is the target's size.
 */
const servingCount = (view: TargetView): number => {
  const serving = view.members.filter((c) => isServing(c) || c.State.Restarting);
  const specs = new Set(serving.map((c) => c.Config.Labels?.[STATE.spec] ?? ""));
  if (specs.size > 1) {
    const aimed = Number(sortByCreated(serving).at(-1)?.Config.Labels?.[STATE.replicas]);
    if (Number.isSafeInteger(aimed) && aimed > 0) return aimed;
  }
  return Math.max(1, serving.length);
};

/** A retry after a crash: aim at exactly what the first attempt's containers say it aimed at. */
const resumePlan = async (env: PlanEnv, view: TargetView, request: ImprovementRequest): Promise<Planned> => {
  const from = view.resumeFrom as InspectedContainer;
  const image = await inspectImage(env.docker, from.Image);
  const labels = from.Config.Labels ?? {};
  const spec = deriveSpec(
    from,
    image,
    {
      image: from.Config.Image ?? from.Image,
      imageId: from.Image,
      env: explicitEnv(from, image),
      state: stateLabelsOf(from),
    },
    { repository: view.repository, identity: labels[STATE.spec] },
  );
  const replicas = Number(labels[STATE.replicas]) || servingCount(view);
  const base = view.base;
  const restore = base ? cloneSpec(view, base) : undefined;
  return {
    kind: "rollout",
    plan: replacePlan(
      view,
      spec,
      replicas,
      request,
      restore,
      `${carriedOut(view.policy, request.payload).action} (resumed)`,
    ),
    revision: labels[STATE.revision] ?? "",
    image: spec.options.Image,
    imageId: from.Image,
    tags: [
      ...(base && view.current ? [{ rev: view.current.rev, imageId: base.Image }] : []),
      // The first attempt tagged it already; written again (or refused if it moved) all the same.
      ...(labels[STATE.revision] ? [{ rev: labels[STATE.revision] as string, imageId: from.Image }] : []),
    ],
  };
};

/**
 * How many new replicas start together: `restart` rolls one replica at a time, as users of a
 * rolling restart expect; the other actions take the target's `hypercode.rollout.surge`, all of
 * them by default, so a rollout takes about as long as replacing one replica.
 */
const surgeFor = (view: TargetView, request: ImprovementRequest, replicas: number): number =>
  request.payload.action === "restart" ? 1 : Math.min(view.policy.surge ?? replicas, replicas);

const replacePlan = (
  view: TargetView,
  spec: Spec,
  replicas: number,
  request: ImprovementRequest,
  restore: Spec | undefined,
  what: string,
): RolloutPlan => {
  const surge = surgeFor(view, request, replicas);
  return {
    spec,
    replicas,
    isCurrent: (c) => c.Config.Labels?.[STATE.spec] === spec.identity,
    gateCurrent: true,
    surge,
    restore: restore
      ? () => ({
          spec: restore,
          replicas,
          isCurrent: (c) => c.Config.Labels?.[STATE.request] !== request.request_id,
          gateCurrent: false,
          surge,
          what: "restoring the previous revision",
        })
      : undefined,
    what,
  };
};

/** Works out the rollout a request asks for, building and tagging its image when it needs one. */
export const planDeploy = async (
  env: PlanEnv,
  view: TargetView,
  request: ImprovementRequest,
): Promise<Planned> => {
  if (view.resumeFrom) return resumePlan(env, view, request);
  const base = view.base as InspectedContainer;
  const p = carriedOut(view.policy, request.payload);
  const restore = cloneSpec(view, base);
  const current = view.current as RevisionRecord;
  const baseTag = { rev: current.rev, imageId: base.Image };
  if (p.action === "scale") {
    const before = view.members.filter(isServing).length;
    const surge = surgeFor(view, request, p.replicas);
    return {
      kind: "rollout",
      plan: {
        spec: restore,
        replicas: p.replicas,
        isCurrent: () => true,
        gateCurrent: false,
        surge,
        restore: (added) => ({
          spec: restore,
          replicas: before,
          isCurrent: (c) => !added.includes(c.Id),
          gateCurrent: false,
          surge,
          what: "undoing the scale",
        }),
        what: `scale to ${p.replicas}`,
      },
      revision: current.rev,
      image: restore.options.Image,
      imageId: base.Image,
      tags: [baseTag],
    };
  }
  const m =
    p.action === "rebuild"
      ? await rebuildMove(env, view, request, p)
      : await move(env, view, base, request, p);
  if ("failed" in m) return { kind: "build_failed", detail: m.failed, log: m.log };
  const replicas = servingCount(view);
  const history = m.history ?? view.history;
  const image = refName(view, m.rev, m.imageId);
  const tags = view.repository ? await repositoryTags(env.docker, view.repository) : new Set<string>();
  const dropped = droppedLabel(
    view.members.map((c) => c.Config.Labels),
    [request, ...env.carries],
    [m.rev, ...history.map((r) => r.rev)],
    tags,
  );
  const state: Record<string, string> = {
    [STATE.revision]: m.rev,
    [STATE.request]: request.request_id,
    [STATE.replicas]: String(replicas),
    [STATE.history]: JSON.stringify(history),
    ...(m.source ? { [STATE.source]: m.source } : {}),
    ...(dropped ? { [STATE.dropped]: dropped } : {}),
  };
  const spec = deriveSpec(
    base,
    view.baseImage,
    { image, imageId: m.imageId, env: [...m.env], state },
    { repository: view.repository },
  );
  return {
    kind: "rollout",
    plan: replacePlan(view, spec, replicas, request, restore, p.action),
    revision: m.rev,
    image,
    imageId: m.imageId,
    tags: [baseTag, { rev: m.rev, imageId: m.imageId }],
  };
};
