import { setTimeout as sleep } from "node:timers/promises";
import { containersOf, type Fixture } from "../../fixtures/docker.js";
import { STATE } from "../../runner/docker/labels.js";

/**
 * What the Docker-side campaign tests check about a target: a watcher that it always has a
 * healthy replica, and that nothing is left behind once it has converged.
 */

/** Running containers of a target whose HEALTHCHECK says healthy, as `docker ps` shows them. */
export const healthyReplicas = async (fx: Fixture, target: string): Promise<number> => {
  const listed = await fx.docker.listContainers({ filters: { label: [`hypercode.target=${target}`] } });
  return listed.filter((c) => c.State === "running" && c.Status.includes("(healthy)")).length;
};

/**
 * Polls the target every `everyMs` until stopped; records each moment it had no healthy replica.
 * A failed poll (the engine itself restarting) is counted apart: it is not an observation.
 */
export const watchHealthy = (fx: Fixture, target: string, everyMs = 100) => {
  let stopped = false;
  const gaps: string[] = [];
  let polls = 0;
  let failedPolls = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        if ((await healthyReplicas(fx, target)) === 0) gaps.push(new Date().toISOString());
        polls++;
      } catch {
        failedPolls++;
      }
      await sleep(everyMs);
    }
  })();
  return {
    gaps,
    get polls() {
      return polls;
    },
    get failedPolls() {
      return failedPolls;
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
};

/**
 * The target has converged: exactly `replicas` containers, all running and healthy, all on one
 * revision, nothing else of the fixture's left; the fixture's images are the ones the test built
 * (`sources`) or revision tags of the current revision or its history, and no untagged image of
 * the fixture is left over. Returns the current containers.
 */
export const expectConverged = async (
  fx: Fixture,
  target: string,
  replicas: number,
  sources: readonly string[],
) => {
  const current = await containersOf(fx, target);
  const states = current.map((c) => `${c.State.Status}/${c.State.Health?.Status}`);
  if (states.length !== replicas || states.some((s) => s !== "running/healthy")) {
    throw new Error(`target ${target} not converged: ${JSON.stringify(states)}`);
  }
  const revisions = new Set(current.map((c) => c.Config.Labels[STATE.revision]));
  if (revisions.size !== 1) throw new Error(`replicas on several revisions: ${[...revisions]}`);

  const everything = await fx.docker.listContainers({
    all: true,
    filters: { label: [`hypercode.test=${fx.id}`] },
  });
  const orphans = everything.filter((c) => !current.some((k) => k.Id === c.Id));
  if (orphans.length > 0) {
    throw new Error(`orphaned containers: ${orphans.map((c) => `${c.Names[0]} ${c.State}`).join(", ")}`);
  }

  const kept = new Set<string>(revisions as Set<string>);
  for (const c of current) {
    const history = JSON.parse(c.Config.Labels[STATE.history] ?? "[]") as Array<{ rev: string }>;
    for (const h of history) kept.add(h.rev);
  }
  const images = await fx.docker.listImages({ filters: { label: [`hypercode.test=${fx.id}`] } });
  const used = new Set(current.map((c) => c.Image));
  for (const img of images) {
    const tags = (img.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
    if (tags.length === 0 && !used.has(img.Id)) throw new Error(`orphaned untagged image ${img.Id}`);
    for (const tag of tags) {
      const name = tag.slice(tag.lastIndexOf(":") + 1);
      const isSource = sources.includes(tag);
      if (!isSource && !kept.has(name)) {
        throw new Error(`orphaned tag ${tag}: not a source, not the current revision, not in its history`);
      }
    }
  }
  return current;
};
