import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containersOf,
  createFixture,
  deployContext,
  type Fixture,
  requestFor,
  silentLog,
  watchWrites,
} from "../../../fixtures/docker.js";
import { createDockerSide } from "../../../runner/docker/docker-side.js";
import { PolicyRefusal } from "../../../runner/errors.js";
import type { ImprovementPayload } from "../../../shared/protocol/index.js";

let fx: Fixture;
let v1: { context: string; imageId: string };

beforeAll(async () => {
  fx = await createFixture();
  v1 = await fx.service("v1", { text: "v1" });
  await fx.service("v2", { text: "v2" });
});

afterAll(async () => {
  await fx?.cleanup();
});

/** A logger whose warnings the test can read. */
const capture = () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "warn" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
};

describe("discovery from labels", () => {
  it("lists opted-in targets with actions, replicas and budget; ignores, with a warning, what it cannot serve", async () => {
    const n = (s: string) => `hct${fx.id}-${s}`;
    const image = `${fx.repo}:v1`;
    await fx.target({
      name: n("good"),
      image,
      replicas: 2,
      noWait: true,
      labels: { "hypercode.actions": "restart,redeploy", "hypercode.budget": "5/hour" },
    });
    await fx.target({
      name: n("off"),
      image,
      replicas: 1,
      noWait: true,
      labels: { "hypercode.enable": "false" },
    });
    await fx.target({ name: `Bad.${fx.id}`, image, replicas: 1, noWait: true });
    await fx.target({ name: "", image, replicas: 1, noWait: true });
    await fx.target({
      name: n("split"),
      image,
      replicas: 2,
      noWait: true,
      perReplica: [
        { labels: { "hypercode.actions": "restart" } },
        { labels: { "hypercode.actions": "restart,scale" } },
      ],
    });
    await fx.target({
      name: n("typo"),
      image,
      replicas: 1,
      noWait: true,
      labels: { "hypercode.replicas.max": "lots" },
    });
    await fx.target({
      name: "",
      image,
      replicas: 1,
      noWait: true,
      labels: { "com.docker.compose.project": `hct${fx.id}p`, "com.docker.compose.service": n("svc") },
    });
    const { log, lines } = capture();

    const listed = await createDockerSide({ log }).catalog.list();

    const mine = listed
      .filter((t) => t.name.startsWith(`hct${fx.id}`))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(mine).toEqual([
      {
        name: n("good"),
        actions: ["restart", "redeploy"],
        replicas: 2,
        budget: { limit: 5, window_ms: 3_600_000 },
      },
      { name: n("svc"), actions: ["restart"], replicas: 1 },
    ]);
    const warned = lines.map((l) => JSON.stringify(l));
    expect(warned.some((w) => w.includes("not a slug") && w.includes(`Bad.${fx.id}`))).toBe(true);
    expect(warned.some((w) => w.includes("without a target name") && w.includes(`hct${fx.id}-anon`))).toBe(
      true,
    );
    expect(warned.some((w) => w.includes(n("split")) && w.includes("hypercode.actions differs"))).toBe(true);
    expect(warned.some((w) => w.includes(n("typo")) && w.includes("hypercode.replicas.max"))).toBe(true);

    const narrowed = await createDockerSide({ log: silentLog, allowlist: [n("svc")] }).catalog.list();
    expect(narrowed.map((t) => t.name)).toEqual([n("svc")]);
  });

  it("refuses a bad allowlist at creation, not at the first request", () => {
    expect(() => createDockerSide({ log: silentLog, allowlist: ["Not A Name"] })).toThrow(
      /not a target name/,
    );
  });
});

describe("policy refusals: a PolicyRefusal with a code, and Docker only read", () => {
  const name = () => `hct${fx.id}-strict`;
  let ids: string[];

  beforeAll(async () => {
    ids = await fx.target({
      name: name(),
      image: `${fx.repo}:v1`,
      replicas: 2,
      noWait: true,
      labels: {
        "hypercode.actions": "redeploy,rebuild,update_config,scale,rollback",
        "hypercode.build.args": "GREETING",
        "hypercode.build.context": v1.context,
        "hypercode.env.allow": "COLOR",
        "hypercode.replicas.max": "2",
      },
    });
    await fx.target({
      name: `hct${fx.id}-optout`,
      image: `${fx.repo}:v1`,
      replicas: 1,
      noWait: true,
      labels: { "hypercode.enable": "no" },
    });
    await fx.target({
      name: `hct${fx.id}-torn`,
      image: `${fx.repo}:v1`,
      replicas: 2,
      noWait: true,
      perReplica: [{ labels: { "hypercode.env.allow": "A" } }, { labels: { "hypercode.env.allow": "A,B" } }],
    });
  });

  const cases: Array<[string, () => string, ImprovementPayload, string]> = [
    ["a disallowed action", name, { action: "restart" }, "action_not_allowed"],
    [
      "a disallowed build arg",
      name,
      { action: "rebuild", build_args: { GREETING: "hi", EVIL: "1" } },
      "build_arg_not_allowed",
    ],
    ["a disallowed env key", name, { action: "update_config", env: { PATH: "/tmp" } }, "env_not_allowed"],
    [
      "an image from another registry",
      name,
      { action: "redeploy", image: `evil.io/hct${"x"}/web:v2` },
      "image_not_allowed",
    ],
    [
      "a look-alike repository",
      name,
      { action: "redeploy", image: `hct${"x"}/web-evil:v2` },
      "image_not_allowed",
    ],
    ["scale over the maximum", name, { action: "scale", replicas: 3 }, "replicas_out_of_range"],
    ["rollback with no history", name, { action: "rollback" }, "no_previous_revision"],
    [
      "rollback to an unknown revision",
      name,
      { action: "rollback", revision: "r20200101000000-abcdef" },
      "unknown_revision",
    ],
    ["a target that did not opt in", () => `hct${fx.id}-optout`, { action: "restart" }, "unknown_target"],
    ["a target whose replicas disagree", () => `hct${fx.id}-torn`, { action: "restart" }, "target_disabled"],
  ];

  it.each(cases)(
    "%s: validate() and deploy() throw, nothing is created or changed",
    async (_, target, payload, code) => {
      // The image cases name this fixture's own repository under another registry or name.
      const p =
        "image" in payload && payload.image
          ? { ...payload, image: payload.image.replace("hctx/web", fx.repo) }
          : payload;
      const watched = watchWrites(fx.docker);
      const { deployer } = createDockerSide({ docker: watched.docker, log: silentLog });
      const request = requestFor(target(), p);

      const refusal = await deployer.validate(request).catch((e: unknown) => e);
      const refusedDeploy = await deployer.deploy(deployContext(request)).catch((e: unknown) => e);

      expect(refusal).toBeInstanceOf(PolicyRefusal);
      expect((refusal as PolicyRefusal).code).toBe(code);
      expect((refusedDeploy as PolicyRefusal).code).toBe(code);
      expect(watched.writes).toEqual([]);
      expect((await containersOf(fx, name())).map((c) => c.Id).sort()).toEqual([...ids].sort());
    },
  );

  it("a target outside the allowlist is refused as such", async () => {
    const { deployer } = createDockerSide({ log: silentLog, allowlist: [`hct${fx.id}-other`] });
    const refusal = await deployer
      .validate(requestFor(name(), { action: "scale", replicas: 1 }))
      .catch((e) => e);
    expect((refusal as PolicyRefusal).code).toBe("target_not_allowed");
  });

  it("the same repository written in full passes: docker.io/<name> is <name>", async () => {
    const watched = watchWrites(fx.docker);
    const { deployer } = createDockerSide({ docker: watched.docker, log: silentLog });
    await deployer.validate(requestFor(name(), { action: "redeploy", image: `docker.io/${fx.repo}:v2` }));
    expect(watched.writes).toEqual([]);
  });
});
