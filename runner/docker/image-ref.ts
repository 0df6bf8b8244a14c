import { IMAGE_REFERENCE } from "../../shared/protocol/payload.js";

/**
 * Docker image references, parsed the way the engine does (distribution/reference), so that the
 * repository check compares what Docker would actually pull or run: `app`, `library/app` and
 * `docker.io/library/app` are one repository; `evil.io/app`, `localhost:5000/app` and
 * `app-evil` are others.
 */
export interface ImageRef {
  /** Registry host with its port, normalised: `docker.io` when none is written. */
  readonly domain: string;
  /** Path inside the registry, normalised: `library/app` for a bare `app` on Docker Hub. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
  /** `domain/path`: what two references must share to be the same repository. */
  readonly repository: string;
}

const DEFAULT_DOMAIN = "docker.io";

/** The first path component names a registry only if it looks like a host: has a dot or a port, or is localhost. */
const isDomain = (component: string): boolean =>
  component.includes(".") || component.includes(":") || component === "localhost";

export const parseImageRef = (text: string): ImageRef | undefined => {
  // `sha256:…` is an image id, and Docker refuses 64-hex names as ambiguous with ids.
  if (text.length > 255 || !IMAGE_REFERENCE.test(text) || /^(sha256:)?[a-f0-9]{64}$/.test(text))
    return undefined;
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf("/");
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  if (slash >= 0 && isDomain(rest.slice(0, slash))) {
    domain = rest.slice(0, slash);
    path = rest.slice(slash + 1);
  }
  if (domain === "index.docker.io") domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = `library/${path}`;
  return { domain, path, tag, digest, repository: `${domain}/${path}` };
};

/** A repository name alone (a label value): no tag, no digest. */
export const parseRepository = (text: string): string | undefined => {
  const ref = parseImageRef(text);
  return ref && ref.tag === undefined && ref.digest === undefined ? ref.repository : undefined;
};

/**
 * A repository as users write it: the short form for Docker Hub, so that tags the runner writes
 * look like the ones users wrote (`app:r2024…`, not `docker.io/library/app:r2024…`).
 */
export const familiarName = (repository: string): string => {
  let name = repository;
  if (name.startsWith(`${DEFAULT_DOMAIN}/`)) name = name.slice(DEFAULT_DOMAIN.length + 1);
  if (name.startsWith("library/") && name.split("/").length === 2) name = name.slice("library/".length);
  return name;
};

/** How to write `repository:tag` back for Docker (see familiarName). */
export const formatRef = (repository: string, tag: string): string => `${familiarName(repository)}:${tag}`;
