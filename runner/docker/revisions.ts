import type Dockerode from "dockerode";
import { z } from "zod";
import type { ImprovementRequest } from "../../shared/protocol/index.js";
import { PermanentError, PolicyRefusal } from "../errors.js";
import { tolerate } from "./docker-errors.js";
import { formatRef } from "./image-ref.js";
import { STATE } from "./labels.js";
import { shortHash } from "./same.js";
import type { InspectedContainer } from "./types.js";

/**
 * Revision history, kept where the runner has it: in Docker. Each container carries its revision
 * id and the list of earlier revisions (image id + the container's own env) in labels; each
 * revision's image is tagged `<repository>:<revision>`, so that `rollback` finds it even after the
 * tag it was deployed from moved, and `docker image prune` leaves it alone.
 */
export interface RevisionRecord {
  readonly rev: string;
  readonly image: string;
  readonly source?: string;
  readonly env: readonly string[];
  readonly at: string;
}

export const HISTORY_LENGTH = 10;

const record = z.object({
  rev: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/),
  image: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  source: z.string().max(255).optional(),
  env: z.array(z.string()),
  at: z.string(),
});

/** The history a container carries; an unreadable label counts as no history (and is logged by the caller). */
export const readHistory = (labels: Record<string, string> | null | undefined): RevisionRecord[] => {
  const raw = labels?.[STATE.history];
  if (!raw) return [];
  try {
    const parsed = z.array(record).safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
};

/**
 * `r<yyyymmddhhmmss>-<6 hex>` from the request's creation time and id: the same request always
 * yields the same revision, so a retry after a crash aims at what the first attempt aimed at.
 */
export const revisionFor = (request: ImprovementRequest): string => {
  const stamp = new Date(request.created_at).toISOString().replace(/\D/g, "").slice(0, 14);
  return `r${stamp}-${shortHash(request.request_id, 6)}`;
};

/** A revision the runner did not deploy itself (the container it found) is named after its content. */
export const foundRevision = (imageId: string, env: readonly string[]): string =>
  `r0-${shortHash({ imageId, env }, 10)}`;

/** The names revisionFor and foundRevision give: a source tag such as `v2` is never one of them. */
export const isRunnerRevision = (rev: string): boolean => /^r(\d{14}-[a-f0-9]{6}|0-[a-f0-9]{10})$/.test(rev);

export const currentRecord = (base: InspectedContainer, env: readonly string[]): RevisionRecord => ({
  rev: base.Config.Labels?.[STATE.revision] || foundRevision(base.Image, env),
  image: base.Image,
  source: base.Config.Labels?.[STATE.source] || undefined,
  env,
  at: base.Created,
});

/** The history after `current` is replaced: it goes first; `leaving` (rolled back to) leaves the list. */
export const nextHistory = (
  current: RevisionRecord,
  history: readonly RevisionRecord[],
  leaving?: string,
): RevisionRecord[] =>
  [current, ...history.filter((r) => r.rev !== current.rev && r.rev !== leaving)].slice(0, HISTORY_LENGTH);

/** The revision a rollback goes to: the one named, else the previous one. */
export const rollbackTarget = (
  target: string,
  history: readonly RevisionRecord[],
  revision: string | undefined,
): RevisionRecord => {
  const record = revision === undefined ? history[0] : history.find((r) => r.rev === revision);
  if (record) return record;
  const known = history.map((r) => r.rev).join(", ") || "none";
  throw revision === undefined
    ? new PolicyRefusal("no_previous_revision", `target ${target} has no earlier revision to roll back to`)
    : new PolicyRefusal(
        "unknown_revision",
        `revision ${revision} is not in the history of ${target} (recorded: ${known})`,
      );
};

/**
 * Tags `imageId` as `<repository>:<rev>` and returns that reference. A tag already naming another
 * image is not moved (it is not this deploy's to move), except this request's own revision tag
 * (`own`): only an earlier attempt of this request can have made it, and when that attempt was cut
 * short and another request changed the target meanwhile, the retry's revision has other content.
 */
export const ensureTag = async (
  docker: Dockerode,
  repository: string,
  rev: string,
  imageId: string,
  own = false,
): Promise<string> => {
  const ref = formatRef(repository, rev);
  const existing = (await tolerate(docker.getImage(ref).inspect(), 404)) as { Id: string } | undefined;
  if (existing?.Id === imageId) return ref;
  if (existing && !own)
    throw new PermanentError(`tag ${ref} already names image ${existing.Id}, not ${imageId}`);
  const colon = ref.lastIndexOf(":");
  await docker.getImage(imageId).tag({ repo: ref.slice(0, colon), tag: ref.slice(colon + 1) });
  return ref;
};

/** Removes revision tags; an image still used by a container, or tagged otherwise, stays. */
export const dropTags = async (
  docker: Dockerode,
  repository: string,
  revs: readonly string[],
): Promise<void> => {
  for (const rev of revs) {
    await tolerate(docker.getImage(formatRef(repository, rev)).remove(), 404, 409);
  }
};
