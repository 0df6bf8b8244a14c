import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export class RedisServerMissingError extends Error {
  constructor() {
    super(
      "redis-server was not found on the PATH. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, " +
        "macOS: `brew install redis`) or point REDIS_URL at a running Redis.",
    );
  }
}

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface LocalRedisOptions {
  /** Data directory; AOF is turned on when given, otherwise the server keeps nothing on disk. */
  dir?: string;
  appendfsync?: "always" | "everysec";
  port?: number;
  /**
   * Runs the server in a process group of its own, so that a Ctrl-C in the terminal (a SIGINT to
   * the whole foreground group) does not reach it: the caller stops it, last, once its own
   * clients have closed. Otherwise the clients see their server vanish and log connection errors.
   */
  ownProcessGroup?: boolean;
}

export const findOnPath = (bin: string): string | undefined =>
  (process.env.PATH ?? "")
    .split(delimiter)
    .map((d) => join(d, bin))
    .find((p) => existsSync(p));

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

const answersPing = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once("error", () => done(false));
    s.connect(port, "127.0.0.1", () => s.write("PING\r\n"));
    s.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });

/** Starts a private `redis-server` on loopback and resolves once it answers PING. */
export const startLocalRedis = async (opts: LocalRedisOptions = {}): Promise<LocalRedis> => {
  const bin = findOnPath("redis-server");
  if (!bin) throw new RedisServerMissingError();
  const port = opts.port ?? (await freePort());
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--maxmemory-policy",
    "noeviction",
  ];
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true });
    args.push("--dir", opts.dir, "--appendonly", "yes", "--appendfsync", opts.appendfsync ?? "everysec");
  } else {
    args.push("--appendonly", "no");
  }
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"], detached: opts.ownProcessGroup });
  // Out of the terminal's reach, it must not outlive us if we exit without stopping it.
  const orphanGuard = () => child.kill("SIGTERM");
  if (opts.ownProcessGroup) process.once("exit", orphanGuard);
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      process.off("exit", orphanGuard);
      resolve();
    }),
  );
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start: ${stderr.trim()}`);
    if (await answersPing(port)) {
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        process: child,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          await exited;
        },
      };
    }
    await sleep(50);
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not answer on port ${port} within 5 s: ${stderr.trim()}`);
};
