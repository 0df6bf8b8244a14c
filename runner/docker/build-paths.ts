import { readdir, readlink } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";

/** A context with more entries than this is not searched whole for links; the rest stay as they are. */
const MAX_ENTRIES = 20_000;

const literally = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * A failed build's words go to the agent, who knows the build context and nothing of the runner's
 * disk. The engine names a link's target as the link holds it, so a link to an absolute path
 * (`secret -> /srv/keys/x`) shows the runner's host path in "not found"; the context's own
 * absolute path can appear too. Returns a function that rewrites both in context-relative words.
 * Called only after a build failed, so walking the context costs nothing on the usual path.
 */
export const contextRelative = async (context: string): Promise<(text: string) => string> => {
  const swaps: Array<[string, string]> = [];
  try {
    const entries = await readdir(context, { recursive: true, withFileTypes: true });
    for (const entry of entries.slice(0, MAX_ENTRIES)) {
      if (!entry.isSymbolicLink()) continue;
      const link = join(entry.parentPath, entry.name);
      const target = await readlink(link).catch(() => undefined);
      if (target === undefined) continue;
      const rel = relative(context, resolve(entry.parentPath, target));
      const outside = rel === ".." || rel.startsWith("../") || isAbsolute(rel);
      if (isAbsolute(target) && outside) {
        swaps.push([target, `${relative(context, link)} (a link out of the build context)`]);
      }
    }
  } catch {
    // An unreadable context: the engine's words stay as they are, minus the context's own path.
  }
  // Longest first, so /srv/app/ctx is replaced before /srv/app.
  swaps.sort((a, b) => b[0].length - a[0].length);
  // The context's path as a whole name (not /srv/app in /srv/apple), and the slash after it.
  const contextPath = new RegExp(`${literally(context.replace(/\/+$/, ""))}(?![\\w.-])/?`, "g");
  return (text) => {
    let out = text;
    for (const [from, to] of swaps) out = out.split(from).join(to);
    return out.replace(contextPath, "./");
  };
};
