import type Dockerode from "dockerode";
import { demux } from "./exec.js";
import type { InspectedContainer } from "./types.js";

export interface HealthOptions {
  readonly timeoutMs: number;
  /** With neither a HEALTHCHECK nor a probe label: how long "running without restarts" must last. */
  readonly settleMs: number;
  readonly http?: { readonly port: number; readonly path: string };
  readonly signal: AbortSignal;
  readonly clock: () => number;
  readonly pollMs?: number;
}

export type Health =
  | { readonly healthy: true; readonly detail: string }
  | { readonly healthy: false; readonly detail: string; readonly log: string };

const PROBE_TIMEOUT_MS = 2000;
const LOG_LINES = 20;

const hasHealthcheck = (c: InspectedContainer): boolean => {
  const test = c.Config.Healthcheck?.Test;
  return Array.isArray(test) && test.length > 0 && test[0] !== "NONE";
};

const healthLog = (c: InspectedContainer): string =>
  (c.State.Health?.Log ?? [])
    .slice(-5)
    .map((l) => `exit ${l.ExitCode}: ${l.Output.trim()}`)
    .join("\n");

const ipOf = (c: InspectedContainer): string | undefined => {
  const networks = c.NetworkSettings.Networks ?? {};
  const primary = networks[c.HostConfig.NetworkMode ?? ""] ?? Object.values(networks)[0];
  return primary?.IPAddress || undefined;
};

/** The last lines the container wrote: why it exited is usually there. */
const logTail = async (docker: Dockerode, id: string): Promise<string> => {
  try {
    const buf = await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: LOG_LINES });
    return demux(buf as unknown as Buffer);
  } catch {
    return "";
  }
};

const probe = async (url: string): Promise<string | undefined> => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), redirect: "manual" });
    await res.body?.cancel();
    return res.status >= 200 && res.status < 400 ? undefined : `GET ${url}: HTTP ${res.status}`;
  } catch (err) {
    return `GET ${url}: ${(err as Error).cause ?? (err as Error).message}`;
  }
};

/** Sleeps between two looks at the container; an event from Docker about it ends the sleep early. */
interface Waker {
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * Wakes the wait when Docker reports a health status or the end of the container, so a verdict
 * is seen when Docker reaches it rather than at the next poll. The poll stays: events sent before
 * the stream is open are not replayed, and an engine restart ends the stream. Without events
 * (the stream cannot be opened) it is a plain poll.
 */
const watchContainer = async (docker: Dockerode, id: string): Promise<Waker> => {
  let fired = false;
  let wake: (() => void) | undefined;
  let stream: NodeJS.ReadableStream | undefined;
  try {
    stream = (await docker.getEvents({
      filters: { type: ["container"], container: [id], event: ["health_status", "die"] },
    })) as NodeJS.ReadableStream;
    stream.on("data", () => {
      fired = true;
      wake?.();
    });
    stream.on("error", () => {});
  } catch {
    stream = undefined;
  }
  return {
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (fired || signal.aborted) {
          fired = false;
          resolve();
          return;
        }
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          signal.removeEventListener("abort", done);
          wake = undefined;
          fired = false;
          resolve();
        }
        wake = done;
        signal.addEventListener("abort", done, { once: true });
      }),
    close: () => (stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.(),
  };
};

/**
 * Waits until a just-started container is healthy, in the order the issue gives: its own
 * HEALTHCHECK status; else the HTTP probe from `hypercode.health.http`, sent to the container's
 * address; else running without a restart for `settleMs`. Exiting, restarting or a HEALTHCHECK
 * turning `unhealthy` fail at once; otherwise the verdict comes at `timeoutMs`.
 */
export const waitHealthy = async (docker: Dockerode, id: string, opts: HealthOptions): Promise<Health> => {
  const waker = await watchContainer(docker, id);
  try {
    return await healthVerdict(docker, id, opts, waker);
  } finally {
    waker.close();
  }
};

const healthVerdict = async (
  docker: Dockerode,
  id: string,
  opts: HealthOptions,
  waker: Waker,
): Promise<Health> => {
  const deadline = opts.clock() + opts.timeoutMs;
  let firstStart: string | undefined;
  let lastProblem = "no health signal yet";
  const probeErrors: string[] = [];
  for (;;) {
    if (opts.signal.aborted) throw opts.signal.reason;
    const c = (await docker.getContainer(id).inspect()) as unknown as InspectedContainer;
    firstStart ??= c.State.StartedAt;
    if (!c.State.Running || c.State.Restarting) {
      const log = (await logTail(docker, id)) || healthLog(c);
      return { healthy: false, detail: `exited with code ${c.State.ExitCode} before becoming healthy`, log };
    }
    if (c.State.StartedAt !== firstStart || c.RestartCount > 0) {
      return { healthy: false, detail: "restarted before becoming healthy", log: await logTail(docker, id) };
    }
    if (hasHealthcheck(c)) {
      const status = c.State.Health?.Status;
      if (status === "healthy") return { healthy: true, detail: "HEALTHCHECK healthy" };
      if (status === "unhealthy")
        return { healthy: false, detail: "HEALTHCHECK unhealthy", log: healthLog(c) };
      lastProblem = `HEALTHCHECK ${status ?? "not run yet"}`;
    } else if (opts.http) {
      const ip = ipOf(c);
      const problem = ip
        ? await probe(`http://${ip}:${opts.http.port}${opts.http.path}`)
        : "no container address";
      if (problem === undefined)
        return { healthy: true, detail: `HTTP probe on port ${opts.http.port} answered` };
      probeErrors.push(problem);
      lastProblem = problem;
    } else if (Date.now() - Date.parse(c.State.StartedAt) >= opts.settleMs) {
      // StartedAt is the engine's wall-clock time: compared with Date.now, not the injected clock.
      return { healthy: true, detail: `running without restarts for ${opts.settleMs} ms` };
    }
    if (opts.clock() >= deadline) {
      const fresh = (await docker.getContainer(id).inspect()) as unknown as InspectedContainer;
      const log = hasHealthcheck(fresh) ? healthLog(fresh) : probeErrors.slice(-5).join("\n") || lastProblem;
      return { healthy: false, detail: `not healthy after ${opts.timeoutMs} ms (${lastProblem})`, log };
    }
    await waker.sleep(Math.min(opts.pollMs ?? 100, Math.max(0, deadline - opts.clock())), opts.signal);
  }
};
