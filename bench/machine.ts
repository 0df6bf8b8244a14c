import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

const version = (cmd: string, args: string[], pick: RegExp = /(\d+\.\d+[.\d]*)/): string => {
  let out: string;
  try {
    out = execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 }).toString();
  } catch (err) {
    // `wrk -v` prints its version and exits 1.
    out = String((err as { stdout?: Buffer }).stdout ?? "");
  }
  return pick.exec(out)?.[1] ?? "not found";
};

const pkgVersion = (name: string): string => {
  try {
    return JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")).version;
  } catch {
    return "not installed";
  }
};

/** The machine and the versions of everything measured, for the report's header. */
export const describeMachine = (): string[] => {
  const model = cpus()[0]?.model ?? "?";
  return [
    `- Machine: ${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}`,
    `- Load average at start (1/5/15 min): ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" / ")}`,
    `- node ${process.versions.node}, redis-server ${version("redis-server", ["--version"], /v=([\d.]+)/)}, docker ${version("docker", ["version", "--format", "{{.Server.Version}}"])}, wrangler ${pkgVersion("wrangler")}, hono ${pkgVersion("hono")}, @hono/node-server ${pkgVersion("@hono/node-server")}, ioredis ${pkgVersion("ioredis")}, zod ${pkgVersion("zod")}, wrk ${version("wrk", ["-v"], /wrk (\S+)/)}`,
  ];
};

export const loadNow = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");
