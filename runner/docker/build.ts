import { readdir } from "node:fs/promises";
import type Dockerode from "dockerode";
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
 * Builds with the classic builder (`POST /build`), sending the context directory (minus what
 * .dockerignore excludes; symlinks are sent as links, never followed). Labels the image with the
 * target, revision and request. A failed build is an outcome with the tail of its output.
 */
export const buildImage = async (docker: Dockerode, req: BuildRequest): Promise<BuildResult> => {
  let stream: NodeJS.ReadableStream;
  try {
    const entries = await readdir(req.source.context);
    stream = await docker.buildImage(
      { context: req.source.context, src: entries },
      {
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
        abortSignal: req.signal,
      },
    );
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
    docker.modem.followProgress(
      stream,
      (err: Error | null) => resolve(err),
      (event: { stream?: string; error?: string; aux?: { ID?: string } }) => {
        if (event.stream) keep(event.stream);
        if (event.error) {
          error = event.error;
          keep(event.error);
        }
        if (event.aux?.ID) imageId = event.aux.ID;
      },
    );
  });
  if (finished && !error) throw classify(`building ${req.ref}`, finished);
  if (error || !imageId) {
    return {
      ok: false,
      detail: `build of ${req.ref} failed: ${error ?? "no image id reported"}`,
      log: tail.join("\n"),
    };
  }
  return { ok: true, imageId };
};
