import { isAbsolute, normalize } from "node:path";
import { parseDuration, parseRate, type Rate } from "../../shared/config/units.js";
import {
  ACTIONS,
  type Action,
  type ImprovementPayload,
  MAX_REPLICAS,
  VARIABLE_NAME,
} from "../../shared/protocol/payload.js";
import { parseRepository } from "./image-ref.js";
import { COMPOSE, labelValue, listLabel, POLICY } from "./labels.js";

/** What the service owner allows to be done to a target, read from its containers' labels. */
export interface TargetPolicy {
  readonly name: string;
  readonly compose?: {
    readonly project: string;
    readonly service: string;
    readonly workingDir?: string;
    readonly configFiles: readonly string[];
  };
  readonly actions: readonly Action[];
  readonly buildArgs: readonly string[];
  readonly envAllow: readonly string[];
  readonly maxReplicas: number;
  /** Normalised (`docker.io/library/app`); undefined: the repository of the running image. */
  readonly repository?: string;
  readonly healthHttp?: { readonly port: number; readonly path: string };
  readonly prestop?: { readonly cmd: readonly string[]; readonly timeoutMs: number };
  readonly build?: { readonly context: string; readonly dockerfile?: string };
  readonly budget?: Rate;
  /**
   * How many new replicas a rollout starts together, before retiring as many old ones; undefined:
   * all of them. `restart` ignores it: it goes one replica at a time.
   */
  readonly surge?: number;
  /**
   * What a `redeploy` without an image does: `recreate` the target from its current image (the
   * default), or `rebuild` it from its build context, as the upstream HyperCode deployer did.
   */
  readonly redeploy: RedeployMode;
}

export const REDEPLOY_MODES = ["recreate", "rebuild"] as const;
export type RedeployMode = (typeof REDEPLOY_MODES)[number];

export type Labels = Record<string, string> | null | undefined;

/** Without a `hypercode.actions` label a target may only be restarted: nothing else is implied. */
const DEFAULT_ACTIONS: readonly Action[] = ["restart"];
const DEFAULT_MAX_REPLICAS = 1;
const DEFAULT_PRESTOP_TIMEOUT_MS = 30_000;
const MAX_PRESTOP_TIMEOUT_MS = 600_000;
const HEALTH_HTTP = /^http:\/\/:(\d{1,5})(\/[\x21-\x7e]*)?$/;

/** The target a container belongs to: `hypercode.target`, else its compose service. */
export const targetNameOf = (labels: Labels): string | undefined =>
  labelValue(labels, POLICY.target) ??
  (labelValue(labels, COMPOSE.project) ? labelValue(labels, COMPOSE.service) : undefined);

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = (label: string, why: string): { ok: false; reason: string } => ({
  ok: false,
  reason: `label ${label}: ${why}`,
});

const names = (label: string, labels: Labels): Parsed<string[]> => {
  const list = listLabel(labelValue(labels, label));
  const bad = list.find((n) => !VARIABLE_NAME.test(n));
  return bad ? fail(label, `'${bad}' is not a variable name`) : { ok: true, value: list };
};

const parseActions = (labels: Labels): Parsed<Action[]> => {
  const raw = labelValue(labels, POLICY.actions);
  if (raw === undefined) return { ok: true, value: [...DEFAULT_ACTIONS] };
  const list = listLabel(raw);
  const bad = list.find((a) => !(ACTIONS as readonly string[]).includes(a));
  if (bad) return fail(POLICY.actions, `unknown action '${bad}' (known: ${ACTIONS.join(", ")})`);
  return { ok: true, value: list as Action[] };
};

/** A replica count: a whole number from 1 to MAX_REPLICAS, else undefined. */
const replicaCount = (raw: string): number | undefined => {
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  return n >= 1 && n <= MAX_REPLICAS ? n : undefined;
};

const parseMaxReplicas = (labels: Labels): Parsed<number> => {
  const raw = labelValue(labels, POLICY.replicasMax);
  if (raw === undefined) return { ok: true, value: DEFAULT_MAX_REPLICAS };
  const n = replicaCount(raw);
  return n !== undefined
    ? { ok: true, value: n }
    : fail(POLICY.replicasMax, `'${raw}' is not a whole number from 1 to ${MAX_REPLICAS}`);
};

const parseHealthHttp = (labels: Labels): Parsed<TargetPolicy["healthHttp"]> => {
  const raw = labelValue(labels, POLICY.healthHttp);
  if (raw === undefined) return { ok: true, value: undefined };
  const m = HEALTH_HTTP.exec(raw);
  const port = Number(m?.[1]);
  // The host is left out on purpose: the probe goes to the new container's own address, never elsewhere.
  if (!m || port < 1 || port > 65535)
    return fail(POLICY.healthHttp, `'${raw}' is not of the form http://:PORT/path`);
  return { ok: true, value: { port, path: m[2] ?? "/" } };
};

const parsePrestop = (labels: Labels): Parsed<TargetPolicy["prestop"]> => {
  const raw = labelValue(labels, POLICY.prestop);
  const rawTimeout = labelValue(labels, POLICY.prestopTimeout);
  const timeoutMs = rawTimeout === undefined ? DEFAULT_PRESTOP_TIMEOUT_MS : parseDuration(rawTimeout);
  if (timeoutMs === undefined || timeoutMs > MAX_PRESTOP_TIMEOUT_MS) {
    return fail(POLICY.prestopTimeout, `'${rawTimeout}' is not a duration up to 10m`);
  }
  if (raw === undefined) return { ok: true, value: undefined };
  if (!raw.startsWith("[")) return { ok: true, value: { cmd: ["/bin/sh", "-c", raw], timeoutMs } };
  let cmd: unknown;
  try {
    cmd = JSON.parse(raw);
  } catch {
    cmd = undefined;
  }
  const ok = Array.isArray(cmd) && cmd.length > 0 && cmd.every((c) => typeof c === "string");
  return ok
    ? { ok: true, value: { cmd: cmd as string[], timeoutMs } }
    : fail(POLICY.prestop, "a JSON list must be a non-empty list of strings");
};

const parseBuild = (labels: Labels): Parsed<TargetPolicy["build"]> => {
  const context = labelValue(labels, POLICY.buildContext);
  const dockerfile = labelValue(labels, POLICY.buildDockerfile);
  if (context === undefined) return { ok: true, value: undefined };
  if (!isAbsolute(context)) return fail(POLICY.buildContext, `'${context}' is not an absolute path`);
  if (dockerfile !== undefined && !isInside(dockerfile)) {
    return fail(POLICY.buildDockerfile, `'${dockerfile}' must be a relative path inside the build context`);
  }
  return { ok: true, value: { context: normalize(context), dockerfile } };
};

/** A relative path that stays inside its base directory once normalised. */
export const isInside = (relative: string): boolean => {
  const n = normalize(relative);
  return !isAbsolute(n) && n !== ".." && !n.startsWith("../");
};

const parseBudget = (labels: Labels): Parsed<Rate | undefined> => {
  const raw = labelValue(labels, POLICY.budget);
  if (raw === undefined) return { ok: true, value: undefined };
  const rate = parseRate(raw);
  return rate ? { ok: true, value: rate } : fail(POLICY.budget, `'${raw}' is not a rate such as 5/hour`);
};

const parseCompose = (labels: Labels): TargetPolicy["compose"] => {
  const project = labelValue(labels, COMPOSE.project);
  const service = labelValue(labels, COMPOSE.service);
  if (!project || !service) return undefined;
  return {
    project,
    service,
    workingDir: labelValue(labels, COMPOSE.workingDir),
    configFiles: listLabel(labelValue(labels, COMPOSE.configFiles)),
  };
};
const parseSurge = (labels: Labels): Parsed<number | undefined> => {
  const raw = labelValue(labels, POLICY.surge);
  if (raw === undefined || raw === "all") return { ok: true, value: undefined };
  const n = replicaCount(raw);
  return n !== undefined
    ? { ok: true, value: n }
    : fail(POLICY.surge, `'${raw}' is neither 'all' nor a whole number from 1 to ${MAX_REPLICAS}`);
};

const parseRedeploy = (labels: Labels): Parsed<RedeployMode> => {
  const raw = labelValue(labels, POLICY.redeploy);
  if (raw === undefined) return { ok: true, value: "recreate" };
  return (REDEPLOY_MODES as readonly string[]).includes(raw)
    ? { ok: true, value: raw as RedeployMode }
    : fail(POLICY.redeploy, `'${raw}' is neither ${REDEPLOY_MODES.map((m) => `'${m}'`).join(" nor ")}`);
};

/**
 * The payload a request is carried out as. A `redeploy` without an image on a target labelled
 * `hypercode.redeploy=rebuild` is a `rebuild` with no build args: what "redeploy" meant to the
 * upstream HyperCode agents (build the service from its source again, then roll it out). With an
 * image it stays a redeploy of that image: the agent said exactly what to run.
 */
export const carriedOut = (policy: TargetPolicy, payload: ImprovementPayload): ImprovementPayload =>
  payload.action === "redeploy" && payload.image === undefined && policy.redeploy === "rebuild"
    ? { action: "rebuild" }
    : payload;

/**
 * Reads a target's policy from the labels of one of its containers. Any malformed label disables
 * the target (the reason is logged): a typo must not silently widen or narrow what is allowed.
 */
export const parsePolicy = (name: string, labels: Labels): Parsed<TargetPolicy> => {
  const actions = parseActions(labels);
  if (!actions.ok) return actions;
  const buildArgs = names(POLICY.buildArgs, labels);
  if (!buildArgs.ok) return buildArgs;
  const envAllow = names(POLICY.envAllow, labels);
  if (!envAllow.ok) return envAllow;
  const maxReplicas = parseMaxReplicas(labels);
  if (!maxReplicas.ok) return maxReplicas;
  const rawRepository = labelValue(labels, POLICY.repository);
  const repository = rawRepository === undefined ? undefined : parseRepository(rawRepository);
  if (rawRepository !== undefined && repository === undefined) {
    return fail(POLICY.repository, `'${rawRepository}' is not a repository name (no tag, no digest)`);
  }
  const healthHttp = parseHealthHttp(labels);
  if (!healthHttp.ok) return healthHttp;
  const prestop = parsePrestop(labels);
  if (!prestop.ok) return prestop;
  const build = parseBuild(labels);
  if (!build.ok) return build;
  const budget = parseBudget(labels);
  if (!budget.ok) return budget;
  const surge = parseSurge(labels);
  if (!surge.ok) return surge;
  const redeploy = parseRedeploy(labels);
  if (!redeploy.ok) return redeploy;
  return {
    ok: true,
    value: {
      name,
      compose: parseCompose(labels),
      actions: actions.value,
      buildArgs: buildArgs.value,
      envAllow: envAllow.value,
      maxReplicas: maxReplicas.value,
      repository,
      healthHttp: healthHttp.value,
      prestop: prestop.value,
      build: build.value,
      budget: budget.value,
      surge: surge.value,
      redeploy: redeploy.value,
    },
  };
};
