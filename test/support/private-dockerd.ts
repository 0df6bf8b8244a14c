import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A Docker engine of the test's own: its own socket, data root, exec root (so its own managed
 * containerd) and its own network namespace. Restarting it touches no other test's containers,
 * which restarting the machine's dockerd would. Started the way .ci/run starts dockerd (setsid,
 * detached, log to a file), with private paths.
 *
 * The network namespace (`unshare --net`) is not optional: a second dockerd in the host's
 * namespace deletes the host's `docker0` (with `--bridge none` at once, with a bridge of its own
 * on its second start), and every build with a RUN step on the machine's daemon then fails. In
 * its own namespace it has its own docker0 and iptables; its socket is a file, reachable as usual.
 * Containers of this engine are reachable only through it (exec, HEALTHCHECK), not from the host.
 */
export interface PrivateDockerd {
  /** `unix://…/docker.sock`, for DOCKER_HOST. */
  readonly host: string;
  readonly socketPath: string;
  readonly log: () => string;
  /** SIGTERM and wait for the daemon to exit (it stops its containers first), then start it again. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const answers = async (host: string): Promise<boolean> =>
  run("docker", ["version", "--format", "{{.Server.Version}}"], {
    env: { ...process.env, DOCKER_HOST: host },
    timeout: 5_000,
  }).then(
    () => true,
    () => false,
  );

export const startPrivateDockerd = async (): Promise<PrivateDockerd> => {
  const dir = mkdtempSync(join(tmpdir(), "hct-dockerd-"));
  const socketPath = join(dir, "docker.sock");
  const host = `unix://${socketPath}`;
  const pidfile = join(dir, "docker.pid");
  const logFile = join(dir, "dockerd.log");

  const start = async () => {
    const out = openSync(logFile, "a");
    const child = spawn(
      "unshare",
      [
        "--net",
        "dockerd",
        "--data-root",
        join(dir, "data"),
        "--exec-root",
        join(dir, "exec"),
        "--pidfile",
        pidfile,
        "-H",
        host,
      ],
      { detached: true, stdio: ["ignore", out, out] },
    );
    child.unref();
    for (let i = 0; i < 120; i++) {
      if (await answers(host)) return;
      await sleep(250);
    }
    throw new Error(
      `private dockerd did not answer within 30 s:\n${readFileSync(logFile, "utf8").slice(-3000)}`,
    );
  };

  const stopDaemon = async () => {
    if (!existsSync(pidfile)) return;
    const pid = Number(readFileSync(pidfile, "utf8"));
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return;
    }
    for (let i = 0; i < 240; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await sleep(250);
    }
    throw new Error(`private dockerd ${pid} did not stop within 60 s`);
  };

  try {
    await start();
  } catch (err) {
    await stopDaemon().catch(() => undefined);
    throw err;
  }
  return {
    host,
    socketPath,
    log: () => readFileSync(logFile, "utf8"),
    restart: async () => {
      await stopDaemon();
      await start();
    },
    stop: async () => {
      await stopDaemon();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
