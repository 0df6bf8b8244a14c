import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containersOf,
  createFixture,
  deployContext,
  execIn,
  type Fixture,
  fetchVia,
  lifecycleDuring,
  ROLLOUT_TIMEOUT_MS,
  requestFor,
  revisionOf,
  sideFor as side,
  silentLog,
} from "../../../fixtures/docker.js";
import { createDockerSide } from "../../../runner/docker/docker-side.js";
import { STATE } from "../../../runner/docker/labels.js";
import { revisionFor } from "../../../runner/docker/revisions.js";

let fx: Fixture;
let v1: { context: string; imageId: string };
let v2: { context: string; imageId: string };

beforeAll(async () => {
  fx = await createFixture();
  v1 = await fx.service("v1", { text: "v1" });
  v2 = await fx.service("v2", { text: "v2" });
});

afterAll(async () => {
  await fx?.cleanup();
});

const ALL_ACTIONS = "restart,redeploy,rebuild,update_config,rollback,scale";

/** A target of `replicas` containers of v1 with an alias; returns its name, alias and container ids. */
const target = async (
  suffix: string,
  replicas = 2,
  labels: Record<string, string> = {},
  env: string[] = [],
) => {
  const name = `hct${fx.id}-${suffix}`;
  const alias = `${name}-svc`;
  const ids = await fx.target({
    name,
    image: `${fx.repo}:v1`,
    replicas,
    alias,
    env,
    labels: { "hypercode.actions": ALL_ACTIONS, "hypercode.replicas.max": "4", ...labels },
  });
  return { name, alias, ids };
};

const get = (alias: string, path = "/") => fetchVia(fx, `${fx.repo}:v1`, alias, path);

describe("actions, each through deployer.deploy() against the real engine", {
  timeout: ROLLOUT_TIMEOUT_MS,
}, () => {
  it("restart: every replica is a new container of the same image and revision", async () => {
    const { name, alias, ids } = await target("restart");
    const before = await containersOf(fx, name);
    const outcome = await side(name).deployer.deploy(deployContext(requestFor(name, { action: "restart" })));

    expect(outcome.state, outcome.detail).toBe("succeeded");
    const now = await containersOf(fx, name);
    expect(now).toHaveLength(2);
    expect(now.filter((c) => ids.includes(c.Id))).toEqual([]);
    expect(now.every((c) => c.State.Running && c.Image === v1.imageId)).toBe(true);
    // Same revision as the one the runner found, which it names after the content.
    expect(outcome.revision).toMatch(/^r0-/);
    expect(now.every((c) => revisionOf(c) === outcome.revision)).toBe(true);
    expect(before.every((c) => revisionOf(c) === undefined)).toBe(true);
    expect(await get(alias)).toBe("v1");
  });

  it("redeploy with a new tag of the allowed repository: every replica replaced, served through the alias", async () => {
    const { name, alias, ids } = await target("redeploy");
    const req = requestFor(name, { action: "redeploy", image: `${fx.repo}:v2` });
    const ctx = deployContext(req);

    const outcome = await side(name).deployer.deploy(ctx);

    expect(outcome.state, outcome.detail).toBe("succeeded");
    const now = await containersOf(fx, name);
    expect(now).toHaveLength(2);
    expect(now.every((c) => c.State.Running && c.Image === v2.imageId)).toBe(true);
    expect(now.filter((c) => ids.includes(c.Id))).toEqual([]);
    expect(now.every((c) => c.Config.Labels[STATE.request] === req.request_id)).toBe(true);
    expect(now.every((c) => c.NetworkSettings.Networks[fx.network]?.Aliases?.includes(alias))).toBe(true);
    expect(now[0]?.Config.Image).toBe(`${fx.repo}:${outcome.revision}`);
    expect(await get(alias)).toBe("v2");
    expect(ctx.recorded.progress.filter((p) => p.state === "deploying").length).toBeGreaterThanOrEqual(2);
  });

  it("rebuild from the build-context label: an allowed build arg reaches the served content, the image is a new revision", async () => {
    const { name, alias } = await target("rebuild", 2, {
      "hypercode.build.context": v1.context,
      "hypercode.build.args": "GREETING",
    });
    const req = requestFor(name, { action: "rebuild", build_args: { GREETING: "bonjour" }, no_cache: true });
    const ctx = deployContext(req);

    const outcome = await side(name).deployer.deploy(ctx);

    expect(outcome.state, outcome.detail).toBe("succeeded");
    expect(outcome.image).toBe(`${fx.repo}:${outcome.revision}`);
    expect(outcome.revision).toMatch(/^r\d{14}-[0-9a-f]{6}$/);
    expect(ctx.recorded.progress[0]?.state).toBe("building");
    const built = await fx.docker.getImage(outcome.image as string).inspect();
    expect(built.Config.Labels["hypercode.built.request"]).toBe(req.request_id);
    const now = await containersOf(fx, name);
    expect(now.every((c) => c.Image === built.Id)).toBe(true);
    expect(await get(alias, "/greeting.txt")).toBe("bonjour");
    // The previous image is kept for rollback, tagged with the revision it was.
    const previous = JSON.parse(now[0]?.Config.Labels[STATE.history] ?? "[]")[0];
    expect(previous.image).toBe(v1.imageId);
    expect((await fx.docker.getImage(`${fx.repo}:${previous.rev}`).inspect()).Id).toBe(v1.imageId);
  });

  // How engines refuse: one without BuildKit at the request; 25-27.4 with the containerd image
  // store in the build's stream (moby/moby#47717).
  const refusals: Array<[string, () => Promise<NodeJS.ReadableStream>]> = [
    [
      "refuses BuildKit",
      () => Promise.reject(new Error("(HTTP code 500) server error - buildkit not supported by daemon")),
    ],
    [
      "cannot read a tar context with BuildKit",
      async () => {
        const error =
          "failed to read downloaded context: failed to load cache key: invalid response status 403";
        return Readable.from([`${JSON.stringify({ errorDetail: { message: error }, error })}\n`]);
      },
    ],
  ];
  it.each(refusals)(
    "rebuild on an engine that %s: the classic builder builds it, with the same labels",
    async (what, refuse) => {
      const { name, alias } = await target(`classic-${what.length}`, 1, {
        "hypercode.build.context": v1.context,
        "hypercode.build.args": "GREETING",
      });
      // The real engine, except that `version=2` gets the refusal.
      const versions: string[] = [];
      const docker = new Proxy(fx.docker, {
        get(t, p) {
          const v = Reflect.get(t, p);
          if (p !== "buildImage") return typeof v === "function" ? v.bind(t) : v;
          return (context: unknown, opts: { version?: string }) => {
            versions.push(opts.version ?? "");
            return opts.version === "2" ? refuse() : t.buildImage(context as never, opts as never);
          };
        },
      });
      const { deployer } = createDockerSide({
        docker,
        log: silentLog,
        allowlist: [name],
        healthTimeoutMs: 20_000,
      });
      const req = requestFor(name, { action: "rebuild", build_args: { GREETING: "classic" } });
      const outcome = await deployer.deploy(deployContext(req));

      expect(outcome.state, outcome.detail).toBe("succeeded");
      expect(versions).toEqual(["2", "1"]);
      const built = await fx.docker.getImage(outcome.image as string).inspect();
      expect(built.Config.Labels["hypercode.built.request"]).toBe(req.request_id);
      expect(await get(alias, "/greeting.txt")).toBe("classic");

      // The engine is remembered: the next rebuild does not ask for BuildKit again.
      const again = requestFor(name, { action: "rebuild", build_args: { GREETING: "again" } });
      expect((await deployer.deploy(deployContext(again))).state).toBe("succeeded");
      expect(versions).toEqual(["2", "1", "1"]);
      expect(await get(alias, "/greeting.txt")).toBe("again");
    },
  );

  it("rebuild whose build fails: outcome failed with the build output, nothing replaced", async () => {
    const broken = await fx.service("v1-broken-build", { text: "x" });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(
      `${broken.context}/Dockerfile`,
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","sh","-c","echo make: no rule to make all; exit 2"]\n',
    );
    const { name, ids } = await target("badbuild", 1, { "hypercode.build.context": broken.context });

    const outcome = await side(name).deployer.deploy(deployContext(requestFor(name, { action: "rebuild" })));

    expect(outcome.state).toBe("failed");
    // BuildKit's words; the log is its progress read from the trace messages (buildkit-trace.ts).
    expect(outcome.detail).toMatch(/build of .* failed: .*\/bin\/busybox sh -c echo make.*exit code: 2/);
    // The failing step, what it printed, and the error, in that order.
    expect(outcome.buildLog).toMatch(
      /RUN \["\/bin\/busybox","sh".*\n(.*\n)*make: no rule to make all\n(.*\n)*ERROR: /,
    );
    expect((await containersOf(fx, name)).map((c) => c.Id)).toEqual(ids);
  });

  it("a failed build names paths inside the context only, never the runner's own (a link out of the context)", async () => {
    const leaky = await fx.service("v1-leaky-build", { text: "x" });
    const { mkdtemp, symlink, writeFile } = await import("node:fs/promises");
    const hostDir = await mkdtemp(`${tmpdir()}/hypercode-host-secret-`);
    await writeFile(`${hostDir}/key.pem`, "secret");
    await symlink(`${hostDir}/key.pem`, `${leaky.context}/key.pem`);
    await writeFile(
      `${leaky.context}/Dockerfile`,
      "FROM scratch\nCOPY key.pem /key.pem\nCOPY nothing-here /x\n",
    );
    const { name } = await target("leaky", 1, { "hypercode.build.context": leaky.context });
    try {
      const ctx = deployContext(requestFor(name, { action: "rebuild" }));
      const outcome = await side(name).deployer.deploy(ctx);
      expect(outcome.state).toBe("failed");
      const seen = [
        outcome.detail,
        outcome.buildLog ?? "",
        ...ctx.recorded.progress.map((p) => p.detail),
      ].join("\n");
      expect(seen).toContain("key.pem (a link out of the build context)");
      expect(seen).not.toContain(hostDir);
      expect(seen).not.toContain(leaky.context);
    } finally {
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  it("update_config: an allowed env key is set (and one unset), visible to the service; the old env is history", async () => {
    const { name, alias } = await target("config", 2, { "hypercode.env.allow": "COLOR,SIZE" }, [
      "COLOR=blue",
      "SIZE=m",
    ]);
    expect(await get(alias, "/cgi-bin/env")).toBe("COLOR=blue");

    const outcome = await side(name).deployer.deploy(
      deployContext(requestFor(name, { action: "update_config", env: { COLOR: "red", SIZE: null } })),
    );

    expect(outcome.state, outcome.detail).toBe("succeeded");
    const now = await containersOf(fx, name);
    expect(now.map((c) => c.Config.Env.filter((e) => /^(COLOR|SIZE)=/.test(e)))).toEqual([
      ["COLOR=red"],
      ["COLOR=red"],
    ]);
    expect(await get(alias, "/cgi-bin/env")).toBe("COLOR=red");
  });

  it("rollback: to the previous revision (image and env), then to a named one", async () => {
    const { name, alias } = await target("rollback", 2, { "hypercode.env.allow": "COLOR" });
    const { deployer } = side(name);
    const first = await deployer.deploy(deployContext(requestFor(name, { action: "restart" })));
    const configured = await deployer.deploy(
      deployContext(requestFor(name, { action: "update_config", env: { COLOR: "red" } })),
    );
    const redeployed = await deployer.deploy(
      deployContext(requestFor(name, { action: "redeploy", image: `${fx.repo}:v2` })),
    );
    expect([first.state, configured.state, redeployed.state]).toEqual([
      "succeeded",
      "succeeded",
      "succeeded",
    ]);
    expect(await get(alias)).toBe("v2");

    const back = await deployer.deploy(deployContext(requestFor(name, { action: "rollback" })));

    expect(back.state, back.detail).toBe("succeeded");
    expect(back.revision).toBe(configured.revision);
    let now = await containersOf(fx, name);
    expect(now.every((c) => c.Image === v1.imageId && c.Config.Env.includes("COLOR=red"))).toBe(true);
    expect(await get(alias)).toBe("v1");
    expect(await get(alias, "/cgi-bin/env")).toBe("COLOR=red");

    const named = await deployer.deploy(
      deployContext(requestFor(name, { action: "rollback", revision: first.revision as string })),
    );

    expect(named.state, named.detail).toBe("succeeded");
    now = await containersOf(fx, name);
    expect(now).toHaveLength(2);
    expect(
      now.every((c) => revisionOf(c) === first.revision && !c.Config.Env.some((e) => e.startsWith("COLOR="))),
    ).toBe(true);
    expect(await get(alias, "/cgi-bin/env")).toBe("COLOR=");
  });

  it("scale: up by cloning (the old ones stay), then down oldest first", async () => {
    const { name, alias, ids } = await target("scale", 1);
    const { deployer } = side(name);

    const up = await deployer.deploy(deployContext(requestFor(name, { action: "scale", replicas: 3 })));

    expect(up.state, up.detail).toBe("succeeded");
    const three = await containersOf(fx, name);
    expect(three).toHaveLength(3);
    expect(three.map((c) => c.Id)).toContain(ids[0]);
    expect(three.every((c) => c.State.Running && c.Image === v1.imageId)).toBe(true);
    expect(three.every((c) => c.NetworkSettings.Networks[fx.network]?.Aliases?.includes(alias))).toBe(true);
    const newest = three.sort((a, b) => Date.parse(a.Created) - Date.parse(b.Created)).at(-1)?.Id;

    const down = await deployer.deploy(deployContext(requestFor(name, { action: "scale", replicas: 1 })));

    expect(down.state, down.detail).toBe("succeeded");
    expect((await containersOf(fx, name)).map((c) => c.Id)).toEqual([newest]);
    expect(await get(alias)).toBe("v1");
  });
});

describe("how many replicas a rollout replaces at once", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it("by default all: both new replicas start, then both old ones stop", async () => {
    const { name } = await target("surge-all");
    const req = requestFor(name, { action: "redeploy", image: `${fx.repo}:v2` });

    const order = await lifecycleDuring(fx, name, () => side(name).deployer.deploy(deployContext(req)));

    expect(order).toEqual(["+new", "+new", "-old", "-old"]);
  });

  it("with hypercode.rollout.surge=1: one at a time, never more than one extra container", async () => {
    const { name } = await target("surge-one", 2, { "hypercode.rollout.surge": "1" });
    const req = requestFor(name, { action: "redeploy", image: `${fx.repo}:v2` });

    const order = await lifecycleDuring(fx, name, () => side(name).deployer.deploy(deployContext(req)));

    expect(order).toEqual(["+new", "-old", "+new", "-old"]);
  });

  it("restart always rolls one replica at a time, whatever the surge", async () => {
    const { name } = await target("surge-restart");
    const req = requestFor(name, { action: "restart" });

    const order = await lifecycleDuring(fx, name, () => side(name).deployer.deploy(deployContext(req)));

    expect(order).toEqual(["+new", "-old", "+new", "-old"]);
  });
});

describe("a new replica that never becomes healthy", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it("is removed; the old containers keep serving; the outcome is failed with the health log", async () => {
    await fx.service("v2-sick", { text: "sick", unhealthy: true });
    const { name, alias, ids } = await target("sick");
    const req = requestFor(name, { action: "redeploy", image: `${fx.repo}:v2-sick` });

    const outcome = await side(name).deployer.deploy(deployContext(req));

    expect(outcome.state).toBe("failed");
    expect(outcome.detail).toMatch(/replica 1\/2: the new container HEALTHCHECK unhealthy/);
    expect(outcome.healthLog).toMatch(/exit 1/);
    const now = await containersOf(fx, name);
    expect(now.map((c) => c.Id).sort()).toEqual([...ids].sort());
    expect(now.every((c) => c.State.Running)).toBe(true);
    expect(await get(alias)).toBe("v1");
    // The revision tag made for the failed attempt is gone again.
    const tags = (await fx.docker.listImages({ filters: { reference: [`${fx.repo}`] } })).flatMap(
      (i) => i.RepoTags ?? [],
    );
    expect(tags).not.toContain(`${fx.repo}:${revisionFor(req)}`);
  });

  it("after an earlier replica was replaced: the replaced ones are put back and the outcome is rolled_back", async () => {
    // v2 fails its HEALTHCHECK once /shared/fail exists; the test drops it there while replica 2 starts.
    const flaky = await fx.service("v2-flaky", { text: "v2", failIfExists: "/shared/fail" });
    const volume = `hct${fx.id}-shared`;
    await fx.docker.createVolume({ Name: volume, Labels: { "hypercode.test": fx.id } });
    const name = `hct${fx.id}-flaky`;
    const alias = `${name}-svc`;
    const ids = await fx.target({
      name,
      image: `${fx.repo}:v1`,
      replicas: 2,
      alias,
      // One at a time, so that replica 1 is in place when replica 2 starts.
      labels: { "hypercode.actions": "redeploy", "hypercode.rollout.surge": "1" },
      hostConfig: { Binds: [`${volume}:/shared`] },
    });
    const ctx = deployContext(requestFor(name, { action: "redeploy", image: `${fx.repo}:v2-flaky` }));
    const progress = ctx.progress;
    ctx.progress = async (state, detail) => {
      if (detail.includes("replica 2/2")) {
        // ids[0], the oldest, was replaced by replica 1; ids[1] still runs and mounts the volume.
        await execIn(fx, ids[1] as string, ["/bin/busybox", "touch", "/shared/fail"]);
      }
      return progress(state, detail);
    };

    const outcome = await side(name).deployer.deploy(ctx);

    expect(outcome.state, outcome.detail).toBe("rolled_back");
    expect(outcome.detail).toMatch(/replica 2\/2.*restored/);
    const now = await containersOf(fx, name);
    expect(now).toHaveLength(2);
    expect(now.every((c) => c.State.Running && c.Image === v1.imageId)).toBe(true);
    expect(now.some((c) => c.Image === flaky.imageId)).toBe(false);
    expect(await get(alias)).toBe("v1");
  });
});
