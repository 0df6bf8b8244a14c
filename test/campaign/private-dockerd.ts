import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sleep } from "./support.js";

const run = promisify(execFile);

/**
 * A Docker engine of the test's own: its own socket, data root, exec root (so its own managed
 * containerd) and address pool. Restarting it touches no other test's containers, which
 * restarting the machine's dockerd would. Started the way .ci/run starts dockerd (setsid,
 * detached, log to a file), with private paths.
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
      "dockerd",
      [
        "--data-root",
        join(dir, "data"),
        "--exec-root",
        join(dir, "exec"),
        "--pidfile",
        pidfile,
        "-H",
        host,
        // No default bridge and no iptables rules: the machine's own daemon owns those.
        "--bridge",
        "none",
        "--iptables=false",
        "--ip-masq=false",
        "--default-address-pool",
        "base=10.213.0.0/16,size=24",
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

  await start();
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
