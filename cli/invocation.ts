import { realpathSync } from "node:fs";
import { relative, sep } from "node:path";

/**
 * How to run this CLI again from the current directory, for the commands it prints. Inside its
 * own checkout `npx hypercode` would not find it (npm links a package's bins only into the
 * projects that depend on it) and would look it up in the registry instead.
 */
export const invocation = (
  script: string | undefined = process.argv[1],
  cwd: string = process.cwd(),
): string => {
  if (!script) return "npx hypercode";
  let path: string;
  try {
    path = realpathSync(script);
  } catch {
    return "npx hypercode";
  }
  if (path.split(sep).includes("node_modules")) return "npx hypercode";
  const rel = relative(cwd, path);
  return `node ${rel.startsWith("..") || rel === "" ? path : rel}`;
};
