/**
 * Every Docker label the Docker side reads or writes, in one place (documented for users in
 * LABELS.md). Three kinds:
 * - policy labels, set by the service owner on the target's containers: what may be done to it;
 * - state labels, written by the runner on the containers it creates: which revision, request
 *   and spec a container belongs to, and the revision history used by `rollback`;
 * - build labels, written on the images the runner builds.
 */

export const POLICY = {
  enable: "hypercode.enable",
  target: "hypercode.target",
  actions: "hypercode.actions",
  buildArgs: "hypercode.build.args",
  envAllow: "hypercode.env.allow",
  replicasMax: "hypercode.replicas.max",
  repository: "hypercode.image.repository",
  healthHttp: "hypercode.health.http",
  prestop: "hypercode.prestop",
  prestopTimeout: "hypercode.prestop.timeout",
  buildContext: "hypercode.build.context",
  buildDockerfile: "hypercode.build.dockerfile",
  budget: "hypercode.budget",
  surge: "hypercode.rollout.surge",
  redeploy: "hypercode.redeploy",
} as const;

export const COMPOSE = {
  project: "com.docker.compose.project",
  service: "com.docker.compose.service",
  workingDir: "com.docker.compose.project.working_dir",
  configFiles: "com.docker.compose.project.config_files",
} as const;

/**
 * Labels a new container always takes from the container it is derived from, never from its
 * image: an image (a rebuild from a context, a redeployed tag) must not be able to widen its own
 * policy or move itself to another target through the labels Docker merges in from the image.
 */
export const PINNED_LABELS: readonly string[] = [...Object.values(POLICY), ...Object.values(COMPOSE)];

export const STATE = {
  /** The revision the container runs (`r<yyyymmddhhmmss>-<hash>`, or `r0-<hash>` for one the runner found). */
  revision: "hypercode.revision",
  /** The request whose deploy created the container. */
  request: "hypercode.request",
  /** The identity of the desired spec of that deploy: containers at it are kept by a retry. */
  spec: "hypercode.spec",
  /** How many replicas that deploy aims for, so that a retry after a crash aims for the same. */
  replicas: "hypercode.replicas",
  /** Where the image came from: the reference a redeploy named, or the tag a rebuild wrote. */
  source: "hypercode.source",
  /** JSON list of earlier revisions, newest first, each `{rev, image, source, env, at}`. */
  history: "hypercode.history",
  /** The fencing token of the target lock the creating deploy held (see fence.ts). */
  fence: "hypercode.fence",
  /**
   * Revisions that left the history (or were never deployed) whose tags were still there when the
   * creating deploy planned: the sweep at the end of a deploy removes them (see sweep.ts).
   */
  dropped: "hypercode.dropped",
} as const;

export const BUILT = {
  target: "hypercode.built.target",
  revision: "hypercode.built.revision",
  request: "hypercode.built.request",
} as const;

/** Labels that differ from one replica to the next, or from one deploy to the next, by design. */
export const STATE_LABELS: readonly string[] = Object.values(STATE);

/** `a, b,,c` → [a, b, c]: the list form every list label uses. Empty means none. */
export const listLabel = (value: string | undefined): string[] =>
  value === undefined
    ? []
    : [
        ...new Set(
          value
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== ""),
        ),
      ];

/** A pinned label set to "" means "not set" (see PINNED_LABELS): the same as absent. */
export const labelValue = (
  labels: Record<string, string> | null | undefined,
  key: string,
): string | undefined => {
  const v = labels?.[key]?.trim();
  return v === undefined || v === "" ? undefined : v;
};
