import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Dockerode from "dockerode";
import { pino } from "pino";
import { createDockerSide } from "../../runner/docker/docker-side.js";
import { STATE } from "../../runner/docker/labels.js";
import type { DeployContext, ProgressState } from "../../runner/ports.js";
import type { ImprovementPayload, ImprovementRequest } from "../../shared/protocol/index.js";

/**
 * A private corner of the real Docker engine for one test file: a run id that labels everything
 * it creates (`hypercode.test=<id>`), an image repository and a network of its own, and a
 * cleanup that removes all of it even when a test failed half-way.
 */
export interface Fixture {
  readonly id: string;
  readonly docker: Dockerode;
  /** `hct<id>/web`: the repository of every image of this fixture. */
  readonly repo: string;
  readonly network: string;
  readonly dir: string;
  /** Builds the test service from a fresh context; returns the context directory and image id. */
  service(tag: string, opts?: ServiceOptions): Promise<{ context: string; imageId: string }>;
  /** Starts `replicas` containers of a target from an image, each healthy before it returns. */
  target(opts: TargetOptions): Promise<string[]>;
  cleanup(): Promise<void>;
}

export interface ServiceOptions {
  /** What `GET /` answers. */
  readonly text?: string;
  /** A HEALTHCHECK that never passes. */
  readonly unhealthy?: boolean;
  /** No HEALTHCHECK at all (the probe label or the settle time decides). */
  readonly noHealthcheck?: boolean;
  /** The HEALTHCHECK also fails while this path exists (a marker a test drops into a shared volume). */
  readonly failIfExists?: string;
  /** Instead of serving: print this and exit with code 3. */
  readonly crashWith?: string;
}

export interface TargetOptions {
  readonly name: string;
  readonly image: string;
  readonly replicas: number;
  readonly alias?: string;
  readonly labels?: Record<string, string>;
  readonly env?: string[];
  readonly hostConfig?: Record<string, unknown>;
  /** Start them one at a time in this order (the last is the newest). */
  readonly perReplica?: Array<{ hostConfig?: Record<string, unknown>; labels?: Record<string, string> }>;
  /** Return once started, without waiting for health (discovery does not need it). */
  readonly noWait?: boolean;
}

/** Rollouts wait for real health checks and graceful stops: generous on a loaded two-core machine. */
export const ROLLOUT_TIMEOUT_MS = 180_000;

export const silentLog = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

/** A Docker side serving only the named targets, with short health waits. */
export const sideFor = (...names: string[]) =>
  createDockerSide({ log: silentLog, allowlist: names, healthTimeoutMs: 20_000, settleMs: 500 });

/** A new Docker side for each attempt: a retry after a crash runs in another runner process, with no memory of the first. */
export const freshSide = () => createDockerSide({ log: silentLog, healthTimeoutMs: 20_000, settleMs: 500 });

const follow = (docker: Dockerode, stream: NodeJS.ReadableStream) =>
  new Promise<{ error?: string; id?: string }>((resolve, reject) => {
    let error: string | undefined;
    let id: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve({ error, id })),
      (e: { error?: string; aux?: { ID?: string } }) => {
        if (e.error) error = e.error;
        if (e.aux?.ID) id = e.aux.ID;
      },
    );
  });

/**
 * How patient the test image's HEALTHCHECK is. On a loaded two-core machine busybox's wget can
 * take seconds to answer, and two failed tries made healthy replicas `unhealthy` (deploys then
 * ended `failed`): a healthy image gets a start period, in which failures do not count and the
 * first pass counts at once, a longer timeout and more retries. Images a test expects to fail keep
 * the quick verdict the test waits for.
 */
const healthTiming = (o: ServiceOptions): string =>
  o.unhealthy || o.failIfExists
    ? "--interval=500ms --timeout=2s --retries=2"
    : "--interval=500ms --timeout=5s --start-period=60s --retries=5";

/** The service's Dockerfile: busybox httpd with a CGI that shows COLOR, a build arg baked into a file, and a graceful stop. */
const dockerfile = (id: string, o: ServiceOptions) => {
  const url = o.unhealthy ? "http://127.0.0.1:9/" : "http://127.0.0.1:8080/";
  const check = o.failIfExists
    ? `"/bin/busybox","sh","-c","test ! -e ${o.failIfExists} && /bin/busybox wget -q -O /dev/null ${url}"`
    : `"/bin/busybox","wget","-q","-O","/dev/null","${url}"`;
  return [
    "FROM scratch",
    "COPY busybox /bin/busybox",
    "COPY www /www",
    "ARG GREETING=hello",
    `RUN ["/bin/busybox","sh","-c","echo \\"$GREETING\\" > /www/greeting.txt"]`,
    `LABEL hypercode.test=${id}`,
    o.noHealthcheck ? "" : `HEALTHCHECK ${healthTiming(o)} CMD [${check}]`,
    // On SIGTERM: stop listening, let requests in flight finish, exit: what a graceful server does.
    o.crashWith
      ? `ENTRYPOINT ["/bin/busybox","sh","-c","echo ${o.crashWith}; exit 3"]`
      : `ENTRYPOINT ["/bin/busybox","sh","-c","/bin/busybox httpd -f -p 8080 -h /www & trap '/bin/busybox kill $!; /bin/busybox usleep 300000; exit 0' TERM; wait"]`,
    "",
  ].join("\n");
};

export const writeServiceContext = async (dir: string, id: string, o: ServiceOptions = {}): Promise<void> => {
  await mkdir(join(dir, "www", "cgi-bin"), { recursive: true });
  await copyFile("/bin/busybox", join(dir, "busybox"));
  await writeFile(join(dir, "www", "index.html"), `${o.text ?? "v1"}\n`);
  const cgi = join(dir, "www", "cgi-bin", "env");
  await writeFile(cgi, '#!/bin/busybox sh\necho "Content-Type: text/plain"\necho ""\necho "COLOR=$COLOR"\n');
  await chmod(cgi, 0o755);
  await writeFile(join(dir, "Dockerfile"), dockerfile(id, o));
};

export const buildContext = async (docker: Dockerode, context: string, tag: string): Promise<string> => {
  const stream = await docker.buildImage(
    { context, src: await readdir(context) },
    { t: tag, rm: true, forcerm: true },
  );
  const { error, id } = await follow(docker, stream);
  if (error || !id) throw new Error(`test image build failed: ${error}`);
  return id;
};

export const createFixture = async (): Promise<Fixture> => {
  const id = randomBytes(4).toString("hex");
  const docker = new Dockerode();
  const repo = `hct${id}/web`;
  const network = `hct${id}-net`;
  const dir = await mkdtemp(join(tmpdir(), `hct${id}-`));
  await docker.createNetwork({ Name: network, Labels: { "hypercode.test": id } });
  let contexts = 0;

  const fx: Fixture = {
    id,
    docker,
    repo,
    network,
    dir,
    async service(tag, opts = {}) {
      const context = join(dir, `ctx${contexts++}`);
      await writeServiceContext(context, id, opts);
      return { context, imageId: await buildContext(docker, context, `${repo}:${tag}`) };
    },
    async target(o) {
      const ids: string[] = [];
      const count = o.perReplica?.length ?? o.replicas;
      for (let i = 0; i < count; i++) {
        const extra = o.perReplica?.[i];
        const c = await docker.createContainer({
          name: `${o.name || `hct${id}-anon`}-${i + 1}-${randomBytes(2).toString("hex")}`,
          Image: o.image,
          Env: o.env ?? [],
          Labels: {
            "hypercode.test": id,
            "hypercode.enable": "true",
            ...(o.name ? { "hypercode.target": o.name } : {}),
            ...o.labels,
            ...extra?.labels,
          },
          HostConfig: { NetworkMode: network, ...o.hostConfig, ...extra?.hostConfig },
          NetworkingConfig: { EndpointsConfig: { [network]: o.alias ? { Aliases: [o.alias] } : {} } },
        });
        await c.start();
        ids.push(c.id);
      }
      if (!o.noWait) for (const c of ids) await waitUntilHealthy(docker, c);
      return ids;
    },
    async cleanup() {
      const byLabel = { filters: { label: [`hypercode.test=${id}`] } };
      const quietly = (p: Promise<unknown>) => p.catch(() => undefined);
      for (const c of await docker.listContainers({ all: true, ...byLabel })) {
        await quietly(docker.getContainer(c.Id).remove({ force: true, v: true }));
      }
      for (const n of await docker.listNetworks(byLabel)) await quietly(docker.getNetwork(n.Id).remove());
      const { Volumes } = await docker.listVolumes(byLabel);
      for (const v of Volumes ?? []) {
        await docker
          .getVolume(v.Name)
          .remove()
          .catch((e) => process.stderr.write(`test cleanup: volume ${v.Name} stays: ${e}\n`));
      }
      // Tags first (the runner adds revision tags), then whatever still carries the label.
      for (let pass = 0; pass < 3; pass++) {
        const images = [
          ...(await docker.listImages({ filters: { reference: [`${repo}`] } })),
          ...(await docker.listImages(byLabel)),
        ];
        if (images.length === 0) break;
        for (const img of images) {
          for (const tag of img.RepoTags ?? []) {
            if (tag !== "<none>:<none>") await quietly(docker.getImage(tag).remove({ force: true }));
          }
          await quietly(docker.getImage(img.Id).remove({ force: true }));
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fx;
};

export const waitUntilHealthy = async (docker: Dockerode, id: string, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await docker.getContainer(id).inspect();
    const status = c.State.Health?.Status;
    if (c.State.Running && (status === undefined || status === "healthy")) return;
    if (Date.now() > deadline) throw new Error(`container ${id.slice(0, 12)} not healthy: ${status}`);
    await sleep(100);
  }
};

/** Everything the fixture's engine has for a target, in any state. */
export const containersOf = async (fx: Fixture, target: string) => {
  const listed = await fx.docker.listContainers({
    all: true,
    filters: { label: [`hypercode.target=${target}`] },
  });
  return Promise.all(listed.map((c) => fx.docker.getContainer(c.Id).inspect()));
};

/** Runs a command in a throwaway container on the fixture's network and returns what it printed. */
export const runOnNetwork = async (
  fx: Fixture,
  image: string,
  cmd: string[],
  network = fx.network,
): Promise<string> => {
  const c = await fx.docker.createContainer({
    Image: image,
    Entrypoint: ["/bin/busybox"],
    Cmd: cmd,
    Labels: { "hypercode.test": fx.id },
    HostConfig: { NetworkMode: network },
  });
  try {
    await c.start();
    await c.wait();
    const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return demux(logs);
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
};

/** `docker logs` without a TTY: 8-byte frame headers before each chunk. */
export const demux = (buf: Buffer): string => {
  let out = "";
  let at = 0;
  while (at + 8 <= buf.length) {
    const size = buf.readUInt32BE(at + 4);
    out += buf.subarray(at + 8, at + 8 + size).toString("utf8");
    at += 8 + size;
  }
  return out;
};

/** `GET http://<host>:8080<path>` from inside the network, as a client container sees it. */
export const fetchVia = (fx: Fixture, image: string, host: string, path = "/", network = fx.network) =>
  runOnNetwork(fx, image, ["wget", "-q", "-O", "-", `http://${host}:8080${path}`], network).then((s) =>
    s.trim(),
  );

export interface Recorded {
  readonly progress: Array<{ state: ProgressState; detail: string }>;
  lockChecks: number;
}

/**
 * A DeployContext like the queue side's. `crashAt` makes the n-th lock check throw, the way a
 * SIGKILL stops a runner between two steps: nothing after it runs, nothing is cleaned up. `fence`
 * is the lock's fencing token (default 1).
 */
export const deployContext = (
  request: ImprovementRequest,
  opts: { crashAt?: number; fence?: number; carries?: ImprovementRequest[] } = {},
): DeployContext & { recorded: Recorded } => {
  const recorded: Recorded = { progress: [], lockChecks: 0 };
  return {
    request,
    carries: opts.carries,
    fence: opts.fence ?? 1,
    signal: new AbortController().signal,
    recorded,
    async progress(state, detail) {
      recorded.progress.push({ state, detail });
    },
    async assertLockHeld() {
      recorded.lockChecks++;
      if (opts.crashAt !== undefined && recorded.lockChecks >= opts.crashAt)
        throw new Error("simulated crash");
    },
  };
};

let requests = 0;
export const requestFor = (target: string, payload: ImprovementPayload): ImprovementRequest => ({
  request_id: `req-${randomBytes(4).toString("hex")}-${++requests}`,
  agent_id: "test-agent",
  target_agent: target,
  improvement_type: "performance",
  description: "test",
  payload,
  created_at: new Date().toISOString(),
});

export const serving = <T extends { State: { Running: boolean } }>(cs: T[]): T[] =>
  cs.filter((c) => c.State.Running);

export const revisionOf = (c: { Config: { Labels: Record<string, string> } }) =>
  c.Config.Labels[STATE.revision];

const READS = new Set([
  "listContainers",
  "listImages",
  "listNetworks",
  "listVolumes",
  "version",
  "info",
  "ping",
]);
const HANDLE_READS = new Set(["inspect", "logs"]);

/**
 * Wraps a Dockerode so that every call that could change something is recorded (deny by default:
 * only list, inspect and logs count as reads). Proves "refused without touching Docker".
 */
export const watchWrites = (docker: Dockerode): { docker: Dockerode; writes: string[] } => {
  const writes: string[] = [];
  const record =
    (name: string, fn: (...a: unknown[]) => unknown, self: object) =>
    (...a: unknown[]) => {
      writes.push(name);
      return fn.apply(self, a);
    };
  const handle = (kind: string, h: object) =>
    new Proxy(h, {
      get(t, p, r) {
        const v = Reflect.get(t, p, r);
        if (typeof v !== "function" || HANDLE_READS.has(String(p))) return v;
        return record(`${kind}.${String(p)}`, v, t);
      },
    });
  const proxy = new Proxy(docker, {
    get(t, p, r) {
      const v = Reflect.get(t, p, r);
      const name = String(p);
      if (typeof v !== "function") return v;
      if (/^get(Container|Image|Network|Volume|Exec)$/.test(name)) {
        return (...a: unknown[]) => handle(name.slice(3), v.apply(t, a));
      }
      return READS.has(name) ? v.bind(t) : record(name, v, t);
    },
  });
  return { docker: proxy, writes };
};

/** Runs a command in a running container and returns what it printed. */
export const execIn = async (fx: Fixture, container: string, cmd: string[]): Promise<string> => {
  const exec = await fx.docker
    .getContainer(container)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on("data", (d: Buffer) => chunks.push(d));
  await new Promise((resolve) => stream.on("end", resolve));
  return demux(Buffer.concat(chunks));
};

/**
 * A load client on the fixture's network: four loops side by side, each request resolving the
 * alias in Docker's DNS (per request, as a real client does per connection) and GETting the
 * addresses in order until one answers, as curl, Go, Python and Node clients do. It prints one
 * line per request (Docker's log copier holds back a line until it ends): the loop, the window
 * the request started in (read from /window, see `measure`), and a mark: `.` the first address
 * answered, `r` a later one did, `x` none did (a failed request).
 */
const LOAD_CLIENT = `
B=/bin/busybox
one() {
  read w < /window; mark=x; n=0
  for ip in $($B nslookup "$ALIAS" 127.0.0.11 2>/dev/null | $B awk '/^Address: /{print $2}'); do
    if $B timeout 2 $B wget -q -O /dev/null "http://$ip:8080/" 2>/dev/null; then
      [ $n = 0 ] && mark=. || mark=r; break
    fi
    n=1
  done
  echo "$1 $w $mark"
}
loop() { while [ ! -e /stop ]; do one $1; $B usleep 10000; done; }
echo 0 > /window
loop 1 & loop 2 & loop 3 & loop 4 & wait`;

const LOOPS = 4;

interface Mark {
  readonly loop: string;
  readonly window: number;
  readonly mark: string;
}

export interface LoadClient {
  /** Every mark so far, in order. */
  marks(): Promise<string>;
  /**
   * Runs `during` in a window of its own and returns its wall time and the marks of the requests
   * that started in it, once each loop has finished them: a request still waiting on a dead
   * address when `during` ends is counted in its window, not in the next one.
   */
  measure(during: () => Promise<unknown>): Promise<{ ms: number; marks: string }>;
  /** Ends the loops and waits for the container to exit (the fixture's cleanup removes it). */
  stop(): Promise<void>;
}

/** Starts the load client (with `image`, any busybox image of the fixture) and waits until it is answered. */
export const startLoadClient = async (
  fx: Fixture,
  alias: string,
  image = `${fx.repo}:v1`,
): Promise<LoadClient> => {
  const c = await fx.docker.createContainer({
    Image: image,
    Entrypoint: ["/bin/busybox", "sh", "-c"],
    Cmd: [LOAD_CLIENT],
    Env: [`ALIAS=${alias}`],
    Labels: { "hypercode.test": fx.id },
    HostConfig: { NetworkMode: fx.network },
  });
  await c.start();
  const lines = async (): Promise<Mark[]> =>
    demux((await c.logs({ stdout: true })) as unknown as Buffer)
      .split("\n")
      .map((l) => l.trim().split(" "))
      .filter((f) => f.length === 3)
      .map(([loop, window, mark]) => ({
        loop: loop as string,
        window: Number(window),
        mark: mark as string,
      }));
  const marks = async () => (await lines()).map((m) => m.mark).join("");
  for (let i = 0; (await marks()).length < 20; i++) {
    if (i > 150) throw new Error(`the load client did not get going: '${await marks()}'`);
    await sleep(100);
  }
  let window = 0;
  const open = (n: number) =>
    execIn(fx, c.id, ["/bin/busybox", "sh", "-c", `echo ${n} > /window.new && mv /window.new /window`]);
  return {
    marks,
    measure: async (during) => {
      const mine = ++window;
      await open(mine);
      const started = Date.now();
      await during();
      const ms = Date.now() - started;
      await open(++window);
      // Done when every loop has printed a request of a later window (wget gives up after 2 s).
      for (let i = 0; i < 200; i++) {
        const later = new Set((await lines()).filter((m) => m.window > mine).map((m) => m.loop));
        if (later.size === LOOPS) break;
        await sleep(100);
      }
      const seen = (await lines()).filter((m) => m.window === mine);
      return { ms, marks: seen.map((m) => m.mark).join("") };
    },
    stop: async () => {
      await execIn(fx, c.id, ["/bin/busybox", "touch", "/stop"]);
      await c.wait();
    },
  };
};

/**
 * The order in which the engine started (+) and stopped (-) the target's containers while `run`
 * ran: "+new" for a container that is still there at the end, "-old" for one that is gone.
 */
export const lifecycleDuring = async (
  fx: Fixture,
  name: string,
  run: () => Promise<{ state: string; detail: string }>,
) => {
  const events = await fx.docker.getEvents({
    filters: { type: ["container"], event: ["start", "die"], label: [`hypercode.target=${name}`] },
  });
  const seen: Array<{ action: string; id: string }> = [];
  let buffered = "";
  events.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines.filter(Boolean)) {
      const e = JSON.parse(line) as { Action: string; id: string };
      seen.push({ action: e.Action, id: e.id });
    }
  });
  try {
    const outcome = await run();
    if (outcome.state !== "succeeded") throw new Error(`rollout ${outcome.state}: ${outcome.detail}`);
    const remaining = new Set((await containersOf(fx, name)).map((c) => c.Id));
    const gone = () => seen.filter((e) => e.action === "die").length;
    // The last stop has happened when run() returns; its event may still be on the way.
    for (let i = 0; i < 50 && gone() < remaining.size; i++) await sleep(100);
    return seen.map((e) => `${e.action === "start" ? "+" : "-"}${remaining.has(e.id) ? "new" : "old"}`);
  } finally {
    (events as unknown as { destroy: () => void }).destroy();
  }
};
