import type Dockerode from "dockerode";
import type { ImprovementPayload, ImprovementRequest } from "../../shared/protocol/index.js";
import { PolicyRefusal } from "../errors.js";
import { buildSource } from "./compose.js";
import type { Discovery } from "./discover.js";
import { assertNoEscalation } from "./escalation.js";
import { formatRef, parseImageRef } from "./image-ref.js";
import { POLICY } from "./labels.js";
import { cloneSpec } from "./plan-deploy.js";
import { carriedOut, type TargetPolicy } from "./policy.js";
import { rollbackTarget } from "./revisions.js";
import { inspectImage, isServing, type TargetView } from "./target.js";
import type { InspectedContainer } from "./types.js";

/** The policy of an enabled, allowlisted target, or the refusal that says why there is none. */
export const policyFor = (discovery: Discovery, name: string): TargetPolicy => {
  const found = discovery.targets.get(name);
  if (found) return found.policy;
  const disabled = discovery.disabled.get(name);
  if (disabled) throw new PolicyRefusal(disabled.code, `target ${name} is not served: ${disabled.reason}`);
  throw new PolicyRefusal(
    "unknown_target",
    `no container opted in as target ${name} (${POLICY.enable}=true)`,
  );
};

const notAllowed = (what: string[], label: string, allowed: readonly string[]) =>
  `${what.join(", ")} ${what.length === 1 ? "is" : "are"} not allowed by ${label} (${allowed.length > 0 ? `allowed: ${allowed.join(", ")}` : "none allowed"})`;

/**
 * Start-first needs the old and the new container side by side: impossible when they would claim
 * the same host port, the same fixed address, or share one network namespace.
 */
const startFirstProblem = (c: InspectedContainer): string | undefined => {
  const mode = c.HostConfig.NetworkMode ?? "";
  if (mode === "host" || mode.startsWith("container:")) return `it uses network mode '${mode}'`;
  for (const [port, bindings] of Object.entries(c.HostConfig.PortBindings ?? {})) {
    const fixed = (bindings ?? []).find((b) => b.HostPort && b.HostPort !== "0");
    if (fixed)
      return `it publishes host port ${fixed.HostPort} (for ${port}); publish through a proxy instead`;
  }
  for (const [net, s] of Object.entries(c.NetworkSettings.Networks ?? {})) {
    if (s.IPAMConfig?.IPv4Address || s.IPAMConfig?.IPv6Address)
      return `it has a fixed address on network ${net}`;
  }
  return undefined;
};

const checkImage = (view: TargetView, image: string) => {
  const ref = parseImageRef(image);
  if (!ref) throw new PolicyRefusal("invalid_image", `'${image}' is not an image reference`);
  if (view.repository === undefined) {
    throw new PolicyRefusal(
      "no_image_repository",
      `the image repository of ${view.policy.name} is unknown: set ${POLICY.repository}`,
    );
  }
  if (ref.repository !== view.repository) {
    throw new PolicyRefusal(
      "image_not_allowed",
      `image ${image} is from repository ${ref.repository}; ${view.policy.name} may only run ${view.repository}`,
    );
  }
};

const checkPayload = async (docker: Dockerode, view: TargetView, p: ImprovementPayload): Promise<void> => {
  const { policy } = view;
  switch (p.action) {
    case "rebuild": {
      const bad = Object.keys(p.build_args ?? {}).filter((k) => !policy.buildArgs.includes(k));
      if (bad.length)
        throw new PolicyRefusal("build_arg_not_allowed", notAllowed(bad, POLICY.buildArgs, policy.buildArgs));
      if (view.repository === undefined) {
        throw new PolicyRefusal(
          "no_image_repository",
          `cannot tag a build of ${policy.name}: set ${POLICY.repository}`,
        );
      }
      await buildSource(policy);
      return;
    }
    case "update_config": {
      const bad = Object.keys(p.env).filter((k) => !policy.envAllow.includes(k));
      if (bad.length)
        throw new PolicyRefusal("env_not_allowed", notAllowed(bad, POLICY.envAllow, policy.envAllow));
      return;
    }
    case "redeploy":
      if (p.image !== undefined) checkImage(view, p.image);
      return;
    case "scale":
      if (!(p.replicas >= 1 && p.replicas <= policy.maxReplicas)) {
        throw new PolicyRefusal(
          "replicas_out_of_range",
          `${p.replicas} replicas asked; ${policy.name} allows 1 to ${policy.maxReplicas} (${POLICY.replicasMax})`,
        );
      }
      return;
    case "rollback": {
      // A retry whose first attempt already created containers for this request needs no target any more.
      if (view.resumeFrom) return;
      const record = rollbackTarget(policy.name, view.history, p.revision);
      if (view.repository === undefined) {
        throw new PolicyRefusal(
          "no_image_repository",
          `cannot tag revisions of ${policy.name}: set ${POLICY.repository}`,
        );
      }
      const ref = formatRef(view.repository, record.rev);
      const image = await inspectImage(docker, ref);
      if (image?.Id !== record.image) {
        throw new PolicyRefusal(
          "revision_image_missing",
          `the image of revision ${record.rev} (${ref}) is gone`,
        );
      }
      return;
    }
    case "restart":
      return;
  }
};

/** The runner's own check of a request against its target's policy. Reads Docker; changes nothing. */
export const checkRequest = async (
  docker: Dockerode,
  view: TargetView,
  request: ImprovementRequest,
): Promise<void> => {
  const { policy } = view;
  const action = request.payload.action;
  if (!policy.actions.includes(action)) {
    throw new PolicyRefusal(
      "action_not_allowed",
      `action ${action} is not allowed on ${policy.name} (${POLICY.actions}: ${policy.actions.join(", ")})`,
    );
  }
  const sample = view.base ?? view.resumeFrom;
  const problem = sample ? startFirstProblem(sample) : undefined;
  if (problem) {
    throw new PolicyRefusal(
      "start_first_impossible",
      `${policy.name} cannot be replaced start-first: ${problem}`,
    );
  }
  if (view.base) {
    // Every container the deploy may replace must have at least the privileges of the one the
    // new containers derive from; replicas that differ are refused here, before anything changes.
    const clone = cloneSpec(view, view.base);
    for (const c of view.members.filter(isServing)) assertNoEscalation(c, clone, view.repository);
  }
  // The rebuild rules apply to a redeploy carried out as a rebuild. `redeploy` being allowed is
  // enough: the owner asked for this with hypercode.redeploy=rebuild, on the same containers and
  // pinned like hypercode.actions, so listing `rebuild` too would add no consent, only a way to
  // make the label do nothing.
  const payload = carriedOut(policy, request.payload);
  try {
    await checkPayload(docker, view, payload);
  } catch (err) {
    if (payload === request.payload || !(err instanceof PolicyRefusal)) throw err;
    throw new PolicyRefusal(
      err.code,
      `${action} on ${policy.name} is carried out as a ${payload.action} (${POLICY.redeploy}=rebuild), and ${err.message}`,
    );
  }
};
