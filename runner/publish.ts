import type { Keys } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import { type PublishedTarget, publishedTarget, type RunnerRecord } from "../shared/protocol/index.js";
import type { IoredisAdapter } from "../shared/redis/ioredis-adapter.js";
import { runJsonScript } from "../shared/redis/run-script.js";
import type { TargetCatalog } from "./ports.js";

export interface PublishDeps {
  readonly redis: IoredisAdapter;
  readonly keys: Keys;
  readonly catalog: TargetCatalog;
  readonly runnerId: string;
  readonly intervalMs: number;
  readonly clock: () => number;
  /** What this runner says about itself in its liveness record. */
  readonly describe: () => Pick<RunnerRecord, "started_at" | "in_hand" | "held">;
  readonly onInvalid: (target: string, reason: string) => void;
}

/**
 * Announces the targets this runner serves, for the intake to refuse unknown ones, and the
 * runner's own liveness record. Entries live three intervals, so one late round does not make
 * targets vanish, and a runner that dies stops receiving work soon after.
 */
export const publishTargets = async (deps: PublishDeps): Promise<PublishedTarget[]> => {
  const now = deps.clock();
  const expiresAt = now + 3 * deps.intervalMs;
  const published: PublishedTarget[] = [];
  for (const t of await deps.catalog.list()) {
    const entry = publishedTarget.safeParse({
      target: t.name,
      actions: [...t.actions],
      runner_id: deps.runnerId,
      expires_at: expiresAt,
      budget: t.budget,
      replicas: t.replicas,
      revision: t.revision,
    });
    if (entry.success) published.push(entry.data);
    else
      deps.onInvalid(t.name, entry.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  const record: RunnerRecord = {
    ...deps.describe(),
    runner_id: deps.runnerId,
    seen_at: new Date(now).toISOString(),
    expires_at: expiresAt,
    targets: published.map((p) => p.target),
  };
  await runJsonScript(
    deps.redis,
    SCRIPTS.targets_publish,
    [deps.keys.targets, deps.keys.runners],
    [deps.runnerId, now, JSON.stringify(record), ...published.flatMap((p) => [p.target, JSON.stringify(p)])],
  );
  return published;
};
