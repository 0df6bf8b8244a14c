import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createFixture,
  deployContext,
  type Fixture,
  fetchVia,
  ROLLOUT_TIMEOUT_MS,
  requestFor,
  silentLog,
  writeServiceContext,
} from "../../../fixtures/docker.js";
import { createDockerSide } from "../../../runner/docker/docker-side.js";

const run = promisify(execFile);

let fx: Fixture;
let project: string;
let service: string;
let file: string;

const compose = (...args: string[]) =>
  run("docker-compose", ["-p", project, "-f", file, ...args], { timeout: 120_000 });

beforeAll(async () => {
  fx = await createFixture();
  project = `hct${fx.id}`;
  service = `hct${fx.id}web`;
  const app = join(fx.dir, "app");
  await writeServiceContext(app, fx.id, { text: "v1" });
  file = join(fx.dir, "docker-compose.yml");
  // Labels on the network too, so the fixture's cleanup finds it whatever happens.
  await writeFile(
    file,
    `version: "2.4"
services:
  ${service}:
    build:
      context: ./app
      args:
        GREETING: from-compose
    image: ${fx.repo}:compose
    labels:
      hypercode.test: "${fx.id}"
      hypercode.enable: "true"
      hypercode.actions: rebuild
      hypercode.build.args: GREETING
networks:
  default:
    labels:
      hypercode.test: "${fx.id}"
`,
  );
  await compose("up", "-d", "--scale", `${service}=2`);
});

afterAll(async () => {
  if (file) await compose("down").catch(() => undefined);
  await fx?.cleanup();
});

describe("a compose service as a target", { timeout: ROLLOUT_TIMEOUT_MS }, () => {
  it("is discovered by its service name, rebuilt from the compose file's build section, and still seen by docker-compose", async () => {
    const { catalog, deployer } = createDockerSide({
      log: silentLog,
      allowlist: [service],
      healthTimeoutMs: 20_000,
    });
    expect(await catalog.list()).toEqual([{ name: service, actions: ["rebuild"], replicas: 2 }]);
    const network = `${project}_default`;
    const viaCompose = async () => (await compose("ps", "-q")).stdout.trim().split("\n").sort();
    expect(await fetchVia(fx, `${fx.repo}:compose`, service, "/greeting.txt", network)).toBe("from-compose");
    const before = await viaCompose();

    const outcome = await deployer.deploy(
      deployContext(requestFor(service, { action: "rebuild", build_args: { GREETING: "from-request" } })),
    );

    expect(outcome.state, outcome.detail).toBe("succeeded");
    const mine = (
      await fx.docker.listContainers({ filters: { label: [`com.docker.compose.service=${service}`] } })
    ).map((c) => c.Id);
    expect(mine).toHaveLength(2);
    expect(mine.filter((id) => before.includes(id))).toEqual([]);
    expect(await viaCompose()).toEqual([...mine].sort());
    const inspected = await Promise.all(mine.map((id) => fx.docker.getContainer(id).inspect()));
    for (const c of inspected) {
      expect(c.Config.Labels["com.docker.compose.project"]).toBe(project);
      expect(c.NetworkSettings.Networks[network]?.Aliases).toContain(service);
    }
    expect(await fetchVia(fx, `${fx.repo}:compose`, service, "/greeting.txt", network)).toBe("from-request");
  });
});
