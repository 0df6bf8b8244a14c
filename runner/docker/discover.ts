import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { SLUG_PATTERN } from "../../shared/protocol/slug.js";
import type { Target } from "../ports.js";
import { classify } from "./docker-errors.js";
import { labelValue, PINNED_LABELS, POLICY, STATE } from "./labels.js";
import { parsePolicy, type TargetPolicy, targetNameOf } from "./policy.js";

/** One container of a target, as the list call shows it. */
export interface Member {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly created: number;
  readonly labels: Record<string, string>;
}

export interface TargetState {
  readonly policy: TargetPolicy;
  /** Every container of the target in any state (leftovers of a crash included), oldest first. */
  readonly members: readonly Member[];
}

export interface Discovery {
  readonly targets: ReadonlyMap<string, TargetState>;
  /** Targets that opted in but are not served, and why: used to explain a refusal. */
  readonly disabled: ReadonlyMap<string, { readonly code: string; readonly reason: string }>;
}

export interface DiscoverDeps {
  readonly docker: Dockerode;
  readonly allowlist?: ReadonlySet<string>;
  /** Called once per distinct problem, so a periodic discovery does not repeat itself in the logs. */
  readonly warn: (msg: string, fields: Record<string, unknown>) => void;
}

const toMember = (c: Dockerode.ContainerInfo): Member => ({
  id: c.Id,
  name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
  state: c.State,
  created: c.Created,
  labels: c.Labels ?? {},
});

/** The first pinned label whose value differs between members, said in words. */
const conflict = (members: readonly Member[]): string | undefined => {
  const [first, ...rest] = members;
  if (!first) return undefined;
  for (const key of PINNED_LABELS) {
    const want = labelValue(first.labels, key);
    const other = rest.find((m) => labelValue(m.labels, key) !== want);
    if (other) {
      const got = labelValue(other.labels, key);
      return `label ${key} differs between its containers: '${want ?? ""}' on ${first.name}, '${got ?? ""}' on ${other.name}`;
    }
  }
  return undefined;
};

/**
 * Finds the targets that opted in with `hypercode.enable=true`. A container without a valid
 * target name is ignored, and a target whose containers disagree on a policy label, or carry a
 * malformed one, is disabled: in both cases the log says why.
 */
export const discover = async (deps: DiscoverDeps): Promise<Discovery> => {
  let listed: Dockerode.ContainerInfo[];
  try {
    listed = await deps.docker.listContainers({ all: true, filters: { label: [`${POLICY.enable}=true`] } });
  } catch (err) {
    throw classify("listing containers", err);
  }
  const groups = new Map<string, Member[]>();
  for (const c of listed.map(toMember)) {
    const name = targetNameOf(c.labels);
    if (name === undefined) {
      deps.warn("container opted in without a target name: ignored", {
        container: c.name,
        hint: `set ${POLICY.target} or run it as a compose service`,
      });
    } else if (!SLUG_PATTERN.test(name)) {
      deps.warn("container's target name is not a slug: ignored", { container: c.name, target: name });
    } else {
      groups.set(name, [...(groups.get(name) ?? []), c]);
    }
  }
  const targets = new Map<string, TargetState>();
  const disabled = new Map<string, { code: string; reason: string }>();
  for (const [name, members] of groups) {
    members.sort((a, b) => a.created - b.created);
    if (deps.allowlist && !deps.allowlist.has(name)) {
      disabled.set(name, {
        code: "target_not_allowed",
        reason: "it is not in the runner's HYPERCODE_TARGETS allowlist",
      });
      continue;
    }
    const why = conflict(members);
    const parsed =
      why === undefined ? parsePolicy(name, members[0]?.labels) : { ok: false as const, reason: why };
    if (!parsed.ok) {
      disabled.set(name, { code: "target_disabled", reason: parsed.reason });
      deps.warn("target disabled", { target: name, reason: parsed.reason });
      continue;
    }
    targets.set(name, { policy: parsed.value, members });
  }
  return { targets, disabled };
};

/** What the queue side publishes about a target. */
export const describeTarget = ({ policy, members }: TargetState): Target => {
  const running = members.filter((m) => m.state === "running");
  const newest = running[running.length - 1] ?? members[members.length - 1];
  const revision = newest?.labels[STATE.revision];
  return {
    name: policy.name,
    actions: [...policy.actions],
    replicas: running.length,
    ...(revision ? { revision } : {}),
    ...(policy.budget ? { budget: { limit: policy.budget.limit, window_ms: policy.budget.windowMs } } : {}),
  };
};

/** Logs each distinct warning once per process: discovery runs periodically. */
export const onceLogger = (log: Logger, cap = 1000): DiscoverDeps["warn"] => {
  const seen = new Set<string>();
  return (msg, fields) => {
    const key = `${msg}\n${JSON.stringify(fields)}`;
    if (seen.has(key)) return;
    if (seen.size >= cap) seen.clear();
    seen.add(key);
    log.warn(fields, msg);
  };
};
