import { readFile, stat } from "node:fs/promises";
import { basename, isAbsolute, resolve } from "node:path";
import { parse } from "yaml";
import { PolicyRefusal } from "../errors.js";
import { isInside, type TargetPolicy } from "./policy.js";

/** Where and how a target is built. */
export interface BuildSource {
  readonly context: string;
  readonly dockerfile?: string;
  /** Build args the owner wrote in the compose file; the request's allowed args override them. */
  readonly args: Readonly<Record<string, string>>;
  /** Said in messages: which label or file this came from. */
  readonly from: string;
}

const refuse = (why: string) => new PolicyRefusal("no_build_context", `cannot rebuild: ${why}`);

type ComposeBuild = string | { context?: unknown; dockerfile?: unknown; args?: unknown } | undefined;

/** Compose `args` come as a map or as a `K=V` list. */
const argsOf = (args: unknown): Record<string, string> => {
  if (Array.isArray(args)) {
    return Object.fromEntries(
      args
        .filter((a): a is string => typeof a === "string" && a.includes("="))
        .map((a) => {
          const i = a.indexOf("=");
          return [a.slice(0, i), a.slice(i + 1)];
        }),
    );
  }
  if (args && typeof args === "object") {
    return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, v == null ? "" : String(v)]));
  }
  return {};
};

/** The service's `build` entry in the last of the project's compose files that has one (later files override). */
const readComposeBuild = async (dir: string, files: readonly string[], service: string) => {
  let found: { build: ComposeBuild; file: string } | undefined;
  for (const f of files) {
    const file = isAbsolute(f) ? f : resolve(dir, f);
    let doc: unknown;
    try {
      doc = parse(await readFile(file, "utf8"));
    } catch (err) {
      // The agent reads this: the file's name and the error's code, not the runner's directories.
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).name;
      throw refuse(`cannot read compose file ${basename(file)} (${why})`);
    }
    const build = (doc as { services?: Record<string, { build?: ComposeBuild }> } | null)?.services?.[service]
      ?.build;
    if (build !== undefined) found = { build, file };
  }
  return found;
};

/**
 * The build context: from `hypercode.build.context` (+ `.dockerfile`), else from the compose
 * file the compose labels point to. Only a local directory is accepted, and the Dockerfile must
 * lie inside it.
 */
export const buildSource = async (policy: TargetPolicy): Promise<BuildSource> => {
  let source: BuildSource;
  if (policy.build) {
    source = { ...policy.build, args: {}, from: "label hypercode.build.context" };
  } else if (policy.compose?.workingDir) {
    const { workingDir, configFiles, service } = policy.compose;
    const files = configFiles.length > 0 ? configFiles : ["docker-compose.yml"];
    const found = await readComposeBuild(workingDir, files, service);
    if (!found) throw refuse(`service ${service} has no build section in ${files.join(", ")}`);
    const b = typeof found.build === "string" ? { context: found.build } : (found.build ?? {});
    const context = typeof b.context === "string" ? b.context : ".";
    if (context.includes("://") || context.startsWith("git@") || context.includes("${")) {
      throw refuse(`build context '${context}' in ${basename(found.file)} is not a plain local directory`);
    }
    const dockerfile = typeof b.dockerfile === "string" ? b.dockerfile : undefined;
    if (dockerfile !== undefined && !isInside(dockerfile)) {
      throw refuse(`dockerfile '${dockerfile}' in ${basename(found.file)} is outside its build context`);
    }
    source = {
      context: resolve(workingDir, context),
      dockerfile,
      args: argsOf(b.args),
      from: `${basename(found.file)}, service ${service}`,
    };
  } else {
    throw refuse(
      "the target has neither a hypercode.build.context label nor compose labels naming a project directory",
    );
  }
  const isDir = await stat(source.context).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw refuse(`the build context (from ${source.from}) is not a directory the runner can read`);
  return source;
};
