import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containersOf,
  createFixture,
  deployContext,
  type Fixture,
  fetchVia,
  lifecycleDuring,
  ROLLOUT_TIMEOUT_MS,
  requestFor,
  sideFor as side,
  silentLog,
  watchWrites,
} from "../../../fixtures/docker.js";
import { createDockerSide } from "../../../runner/docker/docker-side.js";
import { BUILT } from "../../../runner/docker/labels.js";
import { PolicyRefusal } from "../../../runner/errors.js";
import type { DeployOutcome } from "../../../runner/ports.js";

/**
 * `hypercode.redeploy`: what a `redeploy` without an image means for a target. The upstream
 * HyperCode agents send `{"action": "redeploy"}` meaning "build me from my source again and roll
 * me out"; a target opts in to that reading with `hypercode.redeploy=rebuild`.
 */

let fx: Fixture;
let v1: { context: string; imageId: string };
let v2: { context: string; imageId: string };
/** The source a labelled target is built from: its image `:src` was built from it, then it changed. */
let src: { context: string; imageId: string };

beforeAll(async () => {
  fx = await createFixture();
  v1 = await fx.service("v1", { text: "v1" });
  v2 = await fx.service("v2", { text: "v2" });
  src = await fx.service("src", { text: "before" });
});

afterAll(async () => {
  await fx?.cleanup();
});

/** `rebuild` is not among the actions on purpose: allowing `redeploy` is enough (LABELS.md). */
const target = async (suffix: string, replicas: number, image: string, labels: Record<string, string>) => {
  const name = `hct${fx.id}-${suffix}`;
  const alias = `${name}-svc`;
  await fx.target({
    name,
    image,
    replicas,
    alias,
    labels: { "hypercode.actions": "restart,redeploy", ...labels },
  });
  return { name, alias };
};

const get = (alias: string, path = "/") => fetchVia(fx, `${fx.repo}:v1`, alias, path);

const builtFor = async (requestId: string) =>
  fx.docker.listImages({ filters: { label: [`${BUILT.request}=${requestId}`] } });

describe("hypercode.redeploy=rebuild", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  let name: string;
  let alias: string;

  beforeAll(async () => {
    ({ name, alias } = await target("rebuild", 2, `${fx.repo}:src`, {
      "hypercode.redeploy": "rebuild",
      "hypercode.build.context": src.context,
    }));
  });

  it("a redeploy without an image builds the target from its context again and rolls it out start-first", async () => {
    // The source moved on since the running image was built from it.
    await writeFile(join(src.context, "www", "index.html"), "after\n");
    const req = requestFor(name, { action: "redeploy" });
    const ctx = deployContext(req);
    let outcome: DeployOutcome | undefined;

    const order = await lifecycleDuring(fx, name, async () => {
      outcome = await side(name).deployer.deploy(ctx);
      return outcome;
    });

    const done = outcome as DeployOutcome;
    expect(done.carriedOutAs).toBe("rebuild");
    expect(done.detail).toMatch(
      new RegExp(
        `^redeploy carried out as a rebuild \\(hypercode\\.redeploy=rebuild\\): rebuild of ${name}: 2 replica`,
      ),
    );
    expect(ctx.recorded.progress[0]?.state).toBe("building");
    // Built for this request, from the context, and what the new containers run.
    const [built] = await builtFor(req.request_id);
    expect(built?.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(done.imageId).toBe(built?.Id);
    expect(done.imageId).not.toBe(src.imageId);
    expect(done.image).toBe(`${fx.repo}:${done.revision}`);
    const now = await containersOf(fx, name);
    expect(now.map((c) => c.Image)).toEqual([done.imageId, done.imageId]);
    expect(await get(alias)).toBe("after");
    // The same health-gated rollout as a rebuild: both new replicas up before an old one stops.
    expect(order).toEqual(["+new", "+new", "-old", "-old"]);
  });

  it("a redeploy with an image stays a redeploy of that image: no build", async () => {
    const req = requestFor(name, { action: "redeploy", image: `${fx.repo}:v2` });
    const ctx = deployContext(req);

    const outcome = await side(name).deployer.deploy(ctx);

    expect(outcome.state, outcome.detail).toBe("succeeded");
    expect(outcome.carriedOutAs).toBe("redeploy");
    expect(outcome.detail).not.toMatch(/carried out as/);
    expect(outcome.imageId).toBe(v2.imageId);
    expect(ctx.recorded.progress.map((p) => p.state)).not.toContain("building");
    expect(await builtFor(req.request_id)).toEqual([]);
    expect((await containersOf(fx, name)).map((c) => c.Image)).toEqual([v2.imageId, v2.imageId]);
    expect(await get(alias)).toBe("v2");
  });
});

describe("without hypercode.redeploy=rebuild", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it.each([
    ["no label", {}],
    ["hypercode.redeploy=recreate", { "hypercode.redeploy": "recreate" }],
  ])(
    "%s: a redeploy without an image recreates the target from its image, even with a build context",
    async (_, labels) => {
      const { name, alias } = await target(`recreate-${Object.keys(labels).length}`, 1, `${fx.repo}:v1`, {
        "hypercode.build.context": src.context,
        ...labels,
      });
      const before = (await containersOf(fx, name)).map((c) => c.Id);
      const req = requestFor(name, { action: "redeploy" });
      const ctx = deployContext(req);

      const outcome = await side(name).deployer.deploy(ctx);

      expect(outcome.state, outcome.detail).toBe("succeeded");
      expect(outcome.carriedOutAs).toBe("redeploy");
      expect(outcome.detail).toMatch(new RegExp(`^redeploy of ${name}: 1 replica`));
      expect(outcome.imageId).toBe(v1.imageId);
      expect(ctx.recorded.progress.map((p) => p.state)).not.toContain("building");
      expect(await builtFor(req.request_id)).toEqual([]);
      const now = await containersOf(fx, name);
      expect(now.map((c) => c.Id).filter((id) => before.includes(id))).toEqual([]);
      expect(now.map((c) => c.Image)).toEqual([v1.imageId]);
      expect(await get(alias)).toBe("v1");
    },
  );
});

describe("refusals: a PolicyRefusal with a clear reason, and Docker only read", () => {
  const refusalOf = async (target: string, payload: Parameters<typeof requestFor>[1]) => {
    const watched = watchWrites(fx.docker);
    const { deployer } = createDockerSide({ docker: watched.docker, log: silentLog });
    const request = requestFor(target, payload);
    const refusal = await deployer.validate(request).catch((e: unknown) => e);
    const refusedDeploy = await deployer.deploy(deployContext(request)).catch((e: unknown) => e);
    expect(watched.writes).toEqual([]);
    expect((refusedDeploy as PolicyRefusal).code).toBe((refusal as PolicyRefusal).code);
    return refusal as PolicyRefusal;
  };

  /** One replica of v1, not waited for: a refusal needs no healthy container. */
  const idle = async (suffix: string, labels: Record<string, string>) => {
    const name = `hct${fx.id}-${suffix}`;
    await fx.target({ name, image: `${fx.repo}:v1`, replicas: 1, noWait: true, labels });
    return name;
  };

  it("an unknown value disables the target, naming the label and the value", async () => {
    const name = await idle("badmode", {
      "hypercode.actions": "restart,redeploy",
      "hypercode.redeploy": "build",
      "hypercode.build.context": src.context,
    });

    const refusal = await refusalOf(name, { action: "redeploy" });

    expect(refusal).toBeInstanceOf(PolicyRefusal);
    expect(refusal.code).toBe("target_disabled");
    expect(refusal.message).toBe(
      `target ${name} is not served: label hypercode.redeploy: 'build' is neither 'recreate' nor 'rebuild'`,
    );
    const listed = await createDockerSide({ log: silentLog, allowlist: [name] }).catalog.list();
    expect(listed).toEqual([]);
  });

  it("rebuild without a build context: a bare redeploy is refused at validate, the target stays served", async () => {
    const name = await idle("nocontext", {
      "hypercode.actions": "restart,redeploy",
      "hypercode.redeploy": "rebuild",
    });

    const refusal = await refusalOf(name, { action: "redeploy" });

    expect(refusal).toBeInstanceOf(PolicyRefusal);
    expect(refusal.code).toBe("no_build_context");
    expect(refusal.message).toMatch(
      new RegExp(
        `^redeploy on ${name} is carried out as a rebuild \\(hypercode\\.redeploy=rebuild\\), and cannot rebuild: the target has neither a hypercode\\.build\\.context label nor compose labels`,
      ),
    );
    // Only the bare redeploy needs a context: the rest of the target's policy still holds.
    const { deployer, catalog } = side(name);
    await deployer.validate(requestFor(name, { action: "redeploy", image: `${fx.repo}:v2` }));
    await deployer.validate(requestFor(name, { action: "restart" }));
    expect((await catalog.list()).map((t) => t.name)).toEqual([name]);
  });

  it("a target that does not allow redeploy refuses it whatever the label says", async () => {
    const name = await idle("norede", {
      "hypercode.actions": "restart,rebuild",
      "hypercode.redeploy": "rebuild",
      "hypercode.build.context": src.context,
    });

    const refusal = await refusalOf(name, { action: "redeploy" });

    expect(refusal.code).toBe("action_not_allowed");
    expect(refusal.message).toMatch(/action redeploy is not allowed/);
  });
});
