import type Dockerode from "dockerode";
import { PolicyRefusal } from "../errors.js";
import { classify, tolerate } from "./docker-errors.js";
import { parseImageRef } from "./image-ref.js";
import { POLICY, STATE } from "./labels.js";
import { type Labels, type TargetPolicy, targetNameOf } from "./policy.js";
import { currentRecord, type RevisionRecord, readHistory } from "./revisions.js";
import { explicitEnv } from "./spec.js";
import type { InspectedContainer, InspectedImage } from "./types.js";

/** A target as a deploy sees it: every container inspected, and the one new containers derive from. */
export interface TargetView {
  readonly policy: TargetPolicy;
  /** Every container of the target, in any state, oldest first. */
  readonly members: readonly InspectedContainer[];
  /**
   * The newest running container not created by the request at hand: what the request changes.
   * Undefined only when every container already belongs to the request (a retry after a crash).
   */
  readonly base?: InspectedContainer;
  readonly baseImage?: InspectedImage;
  /** The newest container created by the request at hand, if an earlier attempt got that far. */
  readonly resumeFrom?: InspectedContainer;
  /** The allowed image repository (normalised); undefined if neither a label nor the image says. */
  readonly repository?: string;
  /** The base's own env (what it sets on top of its image). */
  readonly env: readonly string[];
  readonly current?: RevisionRecord;
  readonly history: readonly RevisionRecord[];
}

export const isServing = (c: InspectedContainer): boolean =>
  c.State.Running && !c.State.Restarting && !c.State.Paused;

const byCreated = (a: InspectedContainer, b: InspectedContainer) =>
  Date.parse(a.Created) - Date.parse(b.Created);

export const sortByCreated = (cs: readonly InspectedContainer[]): InspectedContainer[] =>
  [...cs].sort(byCreated);

/** Whether a container with these labels belongs to the target: by its labels alone, whatever its policy says now. */
export const isMemberOf = (labels: Labels, target: string): boolean =>
  labels?.[POLICY.enable] === "true" && targetNameOf(labels) === target;

/** Every container of a target as listed (labels, no inspect). */
export const listMembers = async (docker: Dockerode, target: string): Promise<Dockerode.ContainerInfo[]> => {
  try {
    const listed = await docker.listContainers({ all: true, filters: { label: [`${POLICY.enable}=true`] } });
    return listed.filter((c) => isMemberOf(c.Labels, target));
  } catch (err) {
    throw classify(`listing the containers of ${target}`, err);
  }
};

/** Every container of a target, inspected, oldest first. */
export const inspectMembers = async (docker: Dockerode, target: string): Promise<InspectedContainer[]> => {
  const mine = await listMembers(docker, target);
  try {
    const inspected = await Promise.all(
      mine.map((c) => tolerate(docker.getContainer(c.Id).inspect() as Promise<unknown>, 404)),
    );
    return sortByCreated(inspected.filter((c): c is InspectedContainer => c !== undefined));
  } catch (err) {
    throw classify(`inspecting the containers of ${target}`, err);
  }
};

export const inspectImage = async (docker: Dockerode, ref: string): Promise<InspectedImage | undefined> => {
  try {
    return (await tolerate(docker.getImage(ref).inspect() as Promise<unknown>, 404)) as
      | InspectedImage
      | undefined;
  } catch (err) {
    throw classify(`inspecting image ${ref}`, err);
  }
};

const newest = (cs: readonly InspectedContainer[]): InspectedContainer | undefined => {
  const serving = cs.filter(isServing);
  return (serving.length > 0 ? serving : cs).at(-1);
};

/** The label, else the repository of the reference the base was started from, else of its image's first tag. */
const repositoryOf = (policy: TargetPolicy, base?: InspectedContainer, image?: InspectedImage) =>
  policy.repository ??
  (base ? parseImageRef(base.Config.Image ?? "")?.repository : undefined) ??
  image?.RepoTags?.map((t) => parseImageRef(t)?.repository).find((r) => r !== undefined);

export const loadTarget = async (
  docker: Dockerode,
  policy: TargetPolicy,
  requestId: string,
): Promise<TargetView> => {
  const members = await inspectMembers(docker, policy.name);
  if (members.length === 0)
    throw new PolicyRefusal("unknown_target", `target ${policy.name} has no containers`);
  const ours = members.filter((c) => c.Config.Labels?.[STATE.request] === requestId);
  const others = members.filter((c) => c.Config.Labels?.[STATE.request] !== requestId);
  const base = newest(others);
  const baseImage = base ? await inspectImage(docker, base.Image) : undefined;
  const env = base ? explicitEnv(base, baseImage) : [];
  return {
    policy,
    members,
    base,
    baseImage,
    resumeFrom: newest(ours),
    repository: repositoryOf(policy, base ?? newest(ours), baseImage),
    env,
    current: base ? currentRecord(base, env) : undefined,
    history: base ? readHistory(base.Config.Labels) : [],
  };
};
