import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";

/**
 * The whole stack as README's "Run with Docker Compose" runs it: docker-compose.yml built and
 * started with the locally assembled base images (nothing can be pulled here), an agent key made
 * with the CLI inside the intake container, a `rebuild` of the demo submitted over HTTP and
 * followed on the live status feed, and the demo's new build seen through its published port,
 * which must keep answering while the runner replaces the container behind it.
 *
 * Everything is under one unique compose project (its label is on every container, network and
 * volume; its name begins every image it builds) and removed afterwards, with the base images and
 * demo/busybox when this test was the one that made them.
 */

const run = promisify(execFile);
const id = randomBytes(4).toString("hex");
const PROJECT = `hce2e${id}`;
const TARGET = `demo-e2e-${id}`;
const FIRST_MESSAGE = `first build ${id}`;
const NEW_MESSAGE = `rebuilt by an agent ${id}`;
const BASE_IMAGES = ["hypercode/node-local:20", "hypercode/redis-local:7"];
const BUSYBOX = join(ROOT, "demo", "busybox");

// The credentials of a container's main process, as the kernel sees them.
const READ_PID1_STATUS = "process.stdout.write(require('fs').readFileSync('/proc/1/status', 'utf8'))";

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

let env: NodeJS.ProcessEnv = {};
let ports = { intake: 0, runner: 0, bridge: 0, demo: 0 };

const sh = async (file: string, args: readonly string[], timeoutMs = 240_000) => {
  try {
    return (await run(file, args, { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
};
const compose = (...args: string[]) =>
  sh("docker-compose", ["-p", PROJECT, "-f", join(ROOT, "docker-compose.yml"), ...args]);
const docker = (...args: string[]) => sh("docker", args, 60_000);
const imageExists = (ref: string) =>
  docker("image", "inspect", ref).then(
    () => true,
    () => false,
  );
const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");

/** Health of each service's containers, e.g. { redis: ["healthy"], demo-proxy: ["running"] }. */
const serviceStates = async () => {
  const ids = lines(await docker("ps", "-q", "--filter", `label=com.docker.compose.project=${PROJECT}`));
  if (ids.length === 0) return {};
  const format =
    '{{index .Config.Labels "com.docker.compose.service"}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}';
  const states: Record<string, string[]> = {};
  for (const line of lines(await docker("inspect", "--format", format, ...ids))) {
    const [service = "", state = ""] = line.split(" ");
    states[service] = [...(states[service] ?? []), state];
  }
  return states;
};

const waitFor = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(500);
  }
  const logs = await compose("logs", "--no-color", "--tail", "30").catch((e) => String(e));
  throw new Error(`${what}: not within ${timeoutMs} ms (last error: ${last})\n${logs}`);
};

const demoBuild = async () => {
  const res = await fetch(`http://127.0.0.1:${ports.demo}/build.txt`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return {
    status: res.status,
    message: /^message: (.*)$/m.exec(text)?.[1],
    buildId: /^build_id: (.*)$/m.exec(text)?.[1],
  };
};

/** The status events of a request's live feed (SSE), until the feed ends. */
const followFeed = async (url: string, apiKey: string) => {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${apiKey}`, accept: "text/event-stream" },
    signal: AbortSignal.timeout(180_000),
  });
  expect(res.status).toBe(200);
  const states: string[] = [];
  let buffer = "";
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { states, final: undefined };
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: ?(.*)$/m.exec(block)?.[1];
      const data = /^data: ?(.*)$/m.exec(block)?.[1];
      if (event === "status" && data) states.push(JSON.parse(data).status);
      if (event === "end") {
        await reader.cancel();
        return { states, final: JSON.parse(data ?? "{}").status as string };
      }
      end = buffer.indexOf("\n\n");
    }
  }
};

describe("docker-compose stack", () => {
  const created = { images: [] as string[], busybox: false };
  const startedAt = Date.now();

  beforeAll(async () => {
    ports = {
      intake: await freePort(),
      runner: await freePort(),
      bridge: await freePort(),
      demo: await freePort(),
    };
    env = {
      ...process.env,
      REDIS_IMAGE: "hypercode/redis-local:7",
      NODE_IMAGE: "hypercode/node-local:20",
      INTAKE_HOST_PORT: String(ports.intake),
      RUNNER_HOST_PORT: String(ports.runner),
      BRIDGE_HOST_PORT: String(ports.bridge),
      DEMO_HOST_PORT: String(ports.demo),
      DEMO_TARGET: TARGET,
      // Only this test's demo: other tests on this Docker host opt containers in too.
      HYPERCODE_TARGETS: TARGET,
      DEMO_MESSAGE: FIRST_MESSAGE,
      BRIDGE_TOKEN: randomBytes(16).toString("hex"),
      KEY_PREFIX: "",
    };
    for (const ref of BASE_IMAGES) if (!(await imageExists(ref))) created.images.push(ref);
    created.busybox = !existsSync(BUSYBOX);
    await sh(process.execPath, [join(ROOT, "scripts", "build.mjs")]);
    await sh(join(ROOT, "scripts", "local-images.sh"), []);
    await compose("up", "--build", "-d");
    await waitFor(
      "every service healthy",
      async () => {
        const s = await serviceStates();
        const healthy = ["redis", "intake", "runner", "bridge", "demo"].every((n) => s[n]?.[0] === "healthy");
        return healthy && s["demo-proxy"]?.[0] === "running" ? s : undefined;
      },
      120_000,
    );
  }, 360_000);

  afterAll(async () => {
    const problems: string[] = [];
    const attempt = (p: Promise<unknown>) => p.catch((err) => problems.push(String(err)));
    await attempt(compose("down", "--volumes", "--rmi", "local", "--timeout", "5"));
    // What `down` does not know about: containers and images the runner made for the demo.
    const label = `label=com.docker.compose.project=${PROJECT}`;
    const leftovers = lines(await docker("ps", "-aq", "--filter", label));
    if (leftovers.length > 0) await attempt(docker("rm", "-f", "-v", ...leftovers));
    // By name where there is one, not by id: an image built from the same cache may also carry
    // another stack's tag, which must stay.
    const named = async (filter: string) =>
      lines(await docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "--filter", filter)).map(
        (l) => {
          const [ref = "", imageId = ""] = l.split(" ");
          return ref.includes("<none>") ? imageId : ref;
        },
      );
    const images = new Set([
      ...(await named(`reference=${PROJECT}_*`)),
      ...(await named(`label=hypercode.built.target=${TARGET}`)),
    ]);
    if (images.size > 0) await attempt(docker("rmi", ...images));
    for (const kind of ["network", "volume"]) {
      const left = lines(await docker(kind, "ls", "-q", "--filter", label));
      if (left.length > 0) await attempt(docker(kind, "rm", ...left));
    }
    if (created.images.length > 0) await attempt(docker("rmi", ...created.images));
    if (created.busybox) rmSync(BUSYBOX, { force: true });
    console.info(`compose e2e: ${((Date.now() - startedAt) / 1000).toFixed(1)} s from build to teardown`);
    expect(problems).toEqual([]);
  }, 120_000);

  it("runs the intake and the runner as uid 1000, the runner in the Docker socket's group", async () => {
    const credentials = async (service: string) => {
      const status = await compose("exec", "-T", service, "node", "-e", READ_PID1_STATUS);
      const field = (name: string) =>
        new RegExp(`^${name}:(.*)$`, "m").exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      return { uid: field("Uid"), gid: field("Gid"), groups: field("Groups") };
    };
    const socketGid = (await sh("stat", ["-c", "%g", "/var/run/docker.sock"])).trim();
    // Real, effective, saved and filesystem ids alike: nothing kept to get root back.
    expect(await credentials("intake")).toMatchObject({ uid: ["1000", "1000", "1000", "1000"] });
    const runner = await credentials("runner");
    expect(runner.uid).toEqual(["1000", "1000", "1000", "1000"]);
    expect(runner.gid).toEqual(["1000", "1000", "1000", "1000"]);
    expect(runner.groups).toEqual([socketGid]);
  });

  it("rebuilds and redeploys the demo when an agent asks, without the demo going down", async () => {
    const before = await demoBuild();
    expect(before).toMatchObject({ status: 200, message: FIRST_MESSAGE });

    const added = JSON.parse(
      await compose(
        "exec",
        "-T",
        "intake",
        "node",
        "hypercode.mjs",
        "agents",
        "add",
        "e2e-agent",
        "--targets",
        TARGET,
        "--actions",
        "rebuild",
        "--json",
      ),
    ) as { api_key: string };
    const intake = `http://127.0.0.1:${ports.intake}`;
    const auth = { authorization: `Bearer ${added.api_key}` };

    // The runner publishes the targets it serves; the intake accepts requests for those.
    await waitFor(
      "the demo target published by the runner",
      async () => {
        const res = await fetch(`${intake}/v1/targets`, { headers: auth });
        const body = (await res.json()) as { targets?: Array<{ target: string }> };
        return body.targets?.some((t) => t.target === TARGET) ? true : undefined;
      },
      30_000,
    );

    const submitted = await fetch(`${intake}/v1/improvements`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        target_agent: TARGET,
        improvement_type: "feature",
        description: "show the new message",
        payload: { action: "rebuild", build_args: { DEMO_MESSAGE: NEW_MESSAGE } },
      }),
    });
    expect(submitted.status).toBe(202);
    const accepted = (await submitted.json()) as { request_id: string; status_url: string };
    const { request_id } = accepted;
    // Relative unless the intake has a PUBLIC_URL: resolved against the address used to submit.
    const status_url = new URL(accepted.status_url, intake).toString();

    // Through the published port, all along: old build, then new, never an error.
    const seen: Array<{ status: number; message?: string } | { error: string }> = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.push(await demoBuild().catch((err) => ({ error: String(err) })));
        await sleep(100);
      }
    })();
    const feed = await followFeed(`${status_url}/events`, added.api_key).finally(() => {
      watching = false;
    });
    await watcher;

    if (feed.final !== "succeeded") {
      // What went wrong, in the failure message: the request's status and the runner's log.
      const status = await fetch(status_url, { headers: auth }).then((r) => r.text());
      const logs = await compose("logs", "--no-color", "--tail", "60", "runner").catch((e) => String(e));
      expect.fail(`request ended ${feed.final}:\n${status}\n${logs}`);
    }
    expect(feed.states).toEqual(
      expect.arrayContaining(["queued", "running", "building", "deploying", "succeeded"]),
    );
    const after = await demoBuild();
    expect(after).toMatchObject({ status: 200, message: NEW_MESSAGE });
    expect(after.buildId).not.toBe(before.buildId);
    expect(seen.filter((s) => !("status" in s) || s.status !== 200)).toEqual([]);
    // The watch spanned the cut-over: it saw the old build answer, then the new one.
    const messages = seen.map((s) => ("message" in s ? s.message : undefined));
    expect(messages[0]).toBe(FIRST_MESSAGE);
    expect(messages.at(-1)).toBe(NEW_MESSAGE);

    // One demo container is left, at the new build; the old one was retired.
    const states = await serviceStates();
    expect(states.demo).toEqual(["healthy"]);
    const demoImages = lines(
      await docker("ps", "--filter", `label=hypercode.target=${TARGET}`, "--format", "{{.Image}}"),
    );
    expect(demoImages).toHaveLength(1);
    expect(demoImages[0]).toMatch(new RegExp(`^${PROJECT}_demo:r\\d{14}-`));

    // What README tells an operator to look for.
    const logs = await compose("logs", "--no-color", "runner");
    const processing = logs.split("\n").filter((l) => l.includes("Processing improvement request"));
    expect(processing.some((l) => l.includes(request_id))).toBe(true);
  }, 240_000);
});
