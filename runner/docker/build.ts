import { readdir } from "node:fs/promises";
import type Dockerode from "dockerode";
import { contextRelative } from "./build-paths.js";
import { traceLines } from "./buildkit-trace.js";
import type { BuildSource } from "./compose.js";
import { classify } from "./docker-errors.js";
import { BUILT } from "./labels.js";

export type BuildResult =
  | { readonly ok: true; readonly imageId: string }
  | { readonly ok: false; readonly detail: string; readonly log: string };

export interface BuildRequest {
  readonly source: BuildSource;
  /** `<repository>:<revision>`. */
  readonly ref: string;
  /** Already checked against the target's allowed build args. */
  readonly args: Readonly<Record<string, string>>;
  readonly noCache: boolean;
  readonly target: string;
  readonly revision: string;
  readonly requestId: string;
  readonly signal: AbortSignal;
}

const TAIL_LINES = 30;

/**
 * The image an earlier attempt of the same request already built, if any: a retry after a crash
 * reuses it instead of building (and tagging) a second one.
 */
export const findBuilt = async (
  docker: Dockerode,
  target: string,
  requestId: string,
): Promise<string | undefined> => {
  try {
    const images = await docker.listImages({
      filters: { label: [`${BUILT.target}=${target}`, `${BUILT.request}=${requestId}`] },
    });
    return images[0]?.Id;
  } catch (err) {
    throw classify("listing built images", err);
  }
};

/**
 * `POST /build` with the context directory as a tar; `version` "2" is BuildKit, "1" the classic
 * builder. For "2" dockerode also holds a BuildKit session (`POST /session`) open for the build;
 * it reads its .proto files at run time, which is why the image bundle ships them (scripts/build.mjs).
 */
const startBuild = async (docker: Dockerode, req: BuildRequest, version: "1" | "2") =>
  docker.buildImage({ context: req.source.context, src: await readdir(req.source.context) }, {
    t: req.ref,
    ...(req.source.dockerfile ? { dockerfile: req.source.dockerfile } : {}),
    buildargs: { ...req.source.args, ...req.args },
    nocache: req.noCache,
    rm: true,
    forcerm: true,
    labels: {
      [BUILT.target]: req.target,
      [BUILT.revision]: req.revision,
      [BUILT.request]: req.requestId,
    },
    version,
    abortSignal: req.signal,
  } as Dockerode.ImageBuildOptions);

/**
 * What an engine answers when it cannot build this way with BuildKit: none at all (Podman's API,
 * Windows), or, on Engines 25-27.4 with the containerd image store, no tar context
 * (moby/moby#47717, fixed in 27.5 and 28).
 */
const NO_BUILDKIT = /buildkit not supported|failed to read downloaded context/i;

/**
 * Engines that refused BuildKit once: later builds go straight to the classic builder. This also
 * bounds a leak to one per engine: when `POST /build` fails, dockerode 5.0 never closes the
 * BuildKit session it opened for it.
 */
const classicOnly = new WeakSet<Dockerode>();

/**
 * Builds through the Engine API (`POST /build`), sending the context directory (minus what
 * .dockerignore excludes; symlinks are sent as links, never followed). BuildKit first: the
 * classic builder commits a container for every instruction after the first cache miss, which
 * made a small rebuild 3× slower here (BENCHMARKS.md); an engine that cannot build this way with
 * BuildKit gets the classic builder, from then on. Labels the image with the target, revision and
 * request. A failed build is an outcome with the tail of its output.
 */
export const buildImage = async (docker: Dockerode, req: BuildRequest): Promise<BuildResult> => {
  if (!classicOnly.has(docker)) {
    // A refusal comes either as the request's error or as the build's own error message.
    const first = await buildWith(docker, req, "2").catch((err) => {
      if (!NO_BUILDKIT.test(String(err))) throw err;
      return undefined;
    });
    if (first && (first.ok || !NO_BUILDKIT.test(first.detail))) return first;
    classicOnly.add(docker);
  }
  return buildWith(docker, req, "1");
};

const buildWith = async (docker: Dockerode, req: BuildRequest, version: "1" | "2"): Promise<BuildResult> => {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await startBuild(docker, req, version);
  } catch (err) {
    throw classify(`starting the build of ${req.ref}`, err);
  }
  const tail: string[] = [];
  const keep = (text: string) => {
    for (const line of text.split("\n")) if (line.trim() !== "") tail.push(line.trimEnd());
    tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
  };
  let imageId: string | undefined;
  let error: string | undefined;
  const finished = await new Promise<Error | null>((resolve) => {
    // The modem's followProgress, not dockerode's: dockerode 5.0's BuildKit decoder prints a
    // step's output as base64 (it decodes bytes to strings, then reads them as UTF-8 again).
    docker.modem.followProgress(
      stream,
      (err: Error | null) => resolve(err),
      (event: { id?: string; stream?: string; error?: string; aux?: { ID?: string } | string }) => {
        if (event.stream) keep(event.stream);
        if (event.id === "moby.buildkit.trace" && typeof event.aux === "string")
          keep(traceLines(event.aux).join("\n"));
        if (event.error) {
          error = event.error;
          keep(event.error);
        }
        if (typeof event.aux === "object" && event.aux.ID) imageId = event.aux.ID;
      },
    );
  });
  if (finished && !error) throw classify(`building ${req.ref}`, finished);
  if (error || !imageId) {
    const said = await contextRelative(req.source.context);
    return {
      ok: false,
      detail: said(`build of ${req.ref} failed: ${error ?? "no image id reported"}`),
      log: said(tail.join("\n")),
    };
  }
  return { ok: true, imageId };
};
