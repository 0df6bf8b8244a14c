import type Dockerode from "dockerode";
import type { ImprovementRequest } from "../../shared/protocol/index.js";
import { classify } from "./docker-errors.js";
import { familiarName, parseImageRef } from "./image-ref.js";
import { BUILT, listLabel, STATE } from "./labels.js";
import type { Labels } from "./policy.js";
import { dropTags, isRunnerRevision, readHistory, revisionFor } from "./revisions.js";
import { isMemberOf } from "./target.js";

/**
 * The end of every deploy: a sweep of the target's revision tags. A deploy can be cut short (a
 * SIGKILL) anywhere between writing a revision tag and untagging what left the history, and the
 * deploy that runs next is often another request's, which never knew what the killed one pushed
 * out. So instead of each deploy untagging only what it pushed out itself, each one ends by
 * removing every tag of the target that nothing needs any more.
 *
 * A revision is the target's when its own containers name it (what they run, their history, and
 * `hypercode.dropped`), when it is the revision of the request at hand or of one coalesced into
 * it (an attempt of theirs cut short may have tagged it), or when its image was
 * built for the target: never because it is in the target's repository, which other targets may
 * share. `hypercode.dropped` is what makes this survive crashes: a deploy writes on its new
 * containers, before the first one exists, the revisions it leaves behind whose tags are still
 * there, so whatever deploy comes next still knows them after every container that named them is
 * gone.
 */

/** `hypercode.dropped` carries at most this many: a tag that cannot go (still used) must not grow it forever. */
const DROPPED_MAX = 20;

/** The revisions a container needs tagged: the one it runs and its history. */
const needed = (labels: Labels): string[] => [
  ...(labels?.[STATE.revision] ? [labels[STATE.revision] as string] : []),
  ...readHistory(labels).map((r) => r.rev),
];

/** Revisions whose tags the target wrote, as far as its containers' labels and the requests tell. */
const ownRevisions = (labels: readonly Labels[], requests: readonly ImprovementRequest[]): string[] => [
  ...new Set(
    [
      ...labels.flatMap((l) => [...needed(l), ...listLabel(l?.[STATE.dropped])]),
      ...requests.map(revisionFor),
    ].filter(isRunnerRevision),
  ),
];

/** The tags of `repository` that exist now (the tag part only). */
export const repositoryTags = async (docker: Dockerode, repository: string): Promise<Set<string>> => {
  try {
    const images = await docker.listImages({ filters: { reference: [familiarName(repository)] } });
    const refs = images.flatMap((i) => i.RepoTags ?? []).map((t) => parseImageRef(t));
    return new Set(refs.flatMap((r) => (r?.repository === repository && r.tag ? [r.tag] : [])));
  } catch (err) {
    throw classify(`listing the tags of ${repository}`, err);
  }
};

/**
 * The value of `hypercode.dropped` for a deploy's new containers: the target's revisions (see
 * ownRevisions) that the deploy's revision and history (`keep`) no longer need and that are still
 * tagged (`tags`). Those already untagged fall out, so the list stays short.
 */
export const droppedLabel = (
  members: readonly Labels[],
  requests: readonly ImprovementRequest[],
  keep: readonly string[],
  tags: ReadonlySet<string>,
): string =>
  ownRevisions(members, requests)
    .filter((r) => tags.has(r) && !keep.includes(r))
    .slice(0, DROPPED_MAX)
    .join(",");

export interface SweepInput {
  readonly target: string;
  readonly repository: string;
  /** The labels of the target's containers before the deploy (they may name what it replaced). */
  readonly before: readonly Labels[];
  /** The request at hand, then those coalesced into it. */
  readonly requests: readonly ImprovementRequest[];
}

/**
 * Untags the target's revisions that no container on the engine needs: not run, not in a
 * history, not the tag a container was created from (whichever target it belongs to: a revision
 * name shared by two targets, `r0-…` of the same image and env, stays while either needs it).
 * Untag only: an image a container uses is never removed. Runs under the target lock, after the
 * rollout, whether it succeeded or not. Returns the revisions untagged.
 */
export const sweepTags = async (docker: Dockerode, input: SweepInput): Promise<string[]> => {
  const [containers, built, tags] = await Promise.all([
    docker.listContainers({ all: true }).catch((err) => {
      throw classify("listing containers", err);
    }),
    docker.listImages({ filters: { label: [`${BUILT.target}=${input.target}`] } }).catch((err) => {
      throw classify(`listing images built for ${input.target}`, err);
    }),
    repositoryTags(docker, input.repository),
  ]);
  const mine = containers.filter((c) => isMemberOf(c.Labels, input.target));
  const keep = new Set(containers.flatMap((c) => needed(c.Labels)));
  for (const c of containers) {
    const ref = parseImageRef(c.Image);
    if (ref?.repository === input.repository && ref.tag) keep.add(ref.tag);
  }
  const builtRevisions = built.map((i) => i.Labels?.[BUILT.revision] ?? "").filter(isRunnerRevision);
  const candidates = new Set([
    ...ownRevisions([...input.before, ...mine.map((c) => c.Labels)], input.requests),
    ...builtRevisions,
  ]);
  const gone = [...candidates].filter((r) => tags.has(r) && !keep.has(r));
  await dropTags(docker, input.repository, gone);
  return gone;
};
