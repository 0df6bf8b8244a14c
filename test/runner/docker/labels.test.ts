import { describe, expect, it } from "vitest";
import { formatRef, parseImageRef, parseRepository } from "../../../runner/docker/image-ref.js";
import { PINNED_LABELS } from "../../../runner/docker/labels.js";
import { carriedOut, parsePolicy, targetNameOf } from "../../../runner/docker/policy.js";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("image references, parsed as the engine does", () => {
  it.each([
    ["app", "docker.io/library/app", undefined],
    ["library/app:1", "docker.io/library/app", "1"],
    ["docker.io/library/app:1", "docker.io/library/app", "1"],
    ["index.docker.io/library/app", "docker.io/library/app", undefined],
    ["user/app:v2", "docker.io/user/app", "v2"],
    ["app:5000", "docker.io/library/app", "5000"],
    ["evil.io/app", "evil.io/app", undefined],
    ["localhost/app", "localhost/app", undefined],
    ["localhost:5000/team/app:v1", "localhost:5000/team/app", "v1"],
    ["registry.example.com:443/app", "registry.example.com:443/app", undefined],
  ])("%s is repository %s", (text, repository, tag) => {
    const ref = parseImageRef(text);
    expect(ref?.repository).toBe(repository);
    expect(ref?.tag).toBe(tag);
  });

  it("keeps a digest apart from the tag", () => {
    expect(parseImageRef(`localhost:5000/app:v1@${DIGEST}`)).toEqual({
      domain: "localhost:5000",
      path: "app",
      tag: "v1",
      digest: DIGEST,
      repository: "localhost:5000/app",
    });
  });

  it.each([["App"], [DIGEST], ["a".repeat(64)], ["app:"], ["/app"], ["app@sha256:short"], [""]])(
    "refuses %s",
    (text) => expect(parseImageRef(text)).toBeUndefined(),
  );

  it("a repository label takes no tag and no digest", () => {
    expect(parseRepository("evil.io/app")).toBe("evil.io/app");
    expect(parseRepository("app:1")).toBeUndefined();
    expect(parseRepository(`app@${DIGEST}`)).toBeUndefined();
  });

  it("writes tags back in the short form users write", () => {
    expect(formatRef("docker.io/library/app", "r1")).toBe("app:r1");
    expect(formatRef("docker.io/user/app", "r1")).toBe("user/app:r1");
    expect(formatRef("localhost:5000/app", "r1")).toBe("localhost:5000/app:r1");
    expect(parseImageRef(formatRef("docker.io/library/app", "r1"))?.repository).toBe("docker.io/library/app");
  });
});

describe("policy labels", () => {
  it("without labels a target may only be restarted, one replica, nothing else", () => {
    expect(parsePolicy("web", { "hypercode.enable": "true" })).toEqual({
      ok: true,
      value: {
        name: "web",
        compose: undefined,
        actions: ["restart"],
        buildArgs: [],
        envAllow: [],
        maxReplicas: 1,
        repository: undefined,
        healthHttp: undefined,
        prestop: undefined,
        build: undefined,
        budget: undefined,
        surge: undefined,
        redeploy: "recreate",
      },
    });
  });

  it("reads every label", () => {
    const parsed = parsePolicy("web", {
      "hypercode.actions": "restart, rebuild,scale",
      "hypercode.build.args": "A,B",
      "hypercode.env.allow": "COLOR",
      "hypercode.replicas.max": "4",
      "hypercode.image.repository": "localhost:5000/web",
      "hypercode.health.http": "http://:8080/healthz",
      "hypercode.prestop": '["/bin/drain","--wait"]',
      "hypercode.prestop.timeout": "5s",
      "hypercode.build.context": "/srv/web",
      "hypercode.build.dockerfile": "docker/Dockerfile",
      "hypercode.budget": "5/hour",
      "hypercode.rollout.surge": "2",
      "hypercode.redeploy": "rebuild",
      "com.docker.compose.project": "shop",
      "com.docker.compose.service": "web",
      "com.docker.compose.project.working_dir": "/srv/shop",
      "com.docker.compose.project.config_files": "docker-compose.yml,override.yml",
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        name: "web",
        compose: {
          project: "shop",
          service: "web",
          workingDir: "/srv/shop",
          configFiles: ["docker-compose.yml", "override.yml"],
        },
        actions: ["restart", "rebuild", "scale"],
        buildArgs: ["A", "B"],
        envAllow: ["COLOR"],
        maxReplicas: 4,
        repository: "localhost:5000/web",
        healthHttp: { port: 8080, path: "/healthz" },
        prestop: { cmd: ["/bin/drain", "--wait"], timeoutMs: 5000 },
        build: { context: "/srv/web", dockerfile: "docker/Dockerfile" },
        budget: { limit: 5, windowMs: 3_600_000 },
        surge: 2,
        redeploy: "rebuild",
      },
    });
  });

  it("a rollout surge of 'all' is the default, all replicas at once", () => {
    const p = parsePolicy("web", { "hypercode.rollout.surge": "all" });
    expect(p.ok && p.value.surge).toBeUndefined();
  });

  it("a plain pre-stop command runs through /bin/sh -c", () => {
    const p = parsePolicy("web", { "hypercode.prestop": "sleep 2" });
    expect(p.ok && p.value.prestop).toEqual({ cmd: ["/bin/sh", "-c", "sleep 2"], timeoutMs: 30_000 });
  });

  it.each([
    ["hypercode.actions", "restart,deploy", /unknown action 'deploy'/],
    ["hypercode.build.args", "A,B-C", /'B-C' is not a variable name/],
    ["hypercode.env.allow", "PATH=x", /not a variable name/],
    ["hypercode.replicas.max", "0", /from 1 to 32/],
    ["hypercode.replicas.max", "lots", /from 1 to 32/],
    ["hypercode.image.repository", "app:latest", /no tag, no digest/],
    ["hypercode.health.http", "http://evil.io:8080/", /http:\/\/:PORT\/path/],
    ["hypercode.health.http", "http://:99999/", /http:\/\/:PORT\/path/],
    ["hypercode.prestop", '["ok", 1]', /non-empty list of strings/],
    ["hypercode.prestop.timeout", "forever", /duration/],
    ["hypercode.build.context", "relative/dir", /absolute path/],
    ["hypercode.budget", "lots", /rate such as 5\/hour/],
    ["hypercode.rollout.surge", "0", /'all' nor a whole number from 1 to 32/],
    ["hypercode.rollout.surge", "half", /'all' nor a whole number/],
    ["hypercode.redeploy", "build", /'build' is neither 'recreate' nor 'rebuild'/],
    ["hypercode.redeploy", "Rebuild", /neither 'recreate' nor 'rebuild'/],
  ])("a malformed %s (%s) disables the target, naming the label", (label, value, why) => {
    const p = parsePolicy("web", { [label]: value });
    expect(p.ok).toBe(false);
    if (!p.ok) {
      expect(p.reason).toContain(label);
      expect(p.reason).toMatch(why);
    }
  });

  it("hypercode.redeploy=rebuild makes a redeploy without an image a rebuild, and nothing else", () => {
    const parsed = (value?: string) => {
      const p = parsePolicy("web", value === undefined ? {} : { "hypercode.redeploy": value });
      if (!p.ok) throw new Error(p.reason);
      return p.value;
    };
    const rebuild = parsed("rebuild");
    expect(parsed("recreate").redeploy).toBe("recreate");
    expect(parsed().redeploy).toBe("recreate");
    expect(carriedOut(rebuild, { action: "redeploy" })).toEqual({ action: "rebuild" });
    expect(carriedOut(rebuild, { action: "redeploy", image: "web:v2" })).toEqual({
      action: "redeploy",
      image: "web:v2",
    });
    expect(carriedOut(rebuild, { action: "restart" })).toEqual({ action: "restart" });
    expect(carriedOut(parsed("recreate"), { action: "redeploy" })).toEqual({ action: "redeploy" });
    expect(carriedOut(parsed(), { action: "redeploy" })).toEqual({ action: "redeploy" });
    // Taken from the container a new one replaces, never from an image: a rebuilt image cannot
    // turn its target's redeploys into rebuilds, or back.
    expect(PINNED_LABELS).toContain("hypercode.redeploy");
  });

  it("refuses a Dockerfile outside its context", () => {
    const p = parsePolicy("web", {
      "hypercode.build.context": "/srv",
      "hypercode.build.dockerfile": "../etc/Dockerfile",
    });
    expect(p.ok).toBe(false);
  });

  it("names a target by hypercode.target, else by its compose service; an empty pinned label is no label", () => {
    expect(
      targetNameOf({
        "hypercode.target": "api",
        "com.docker.compose.project": "p",
        "com.docker.compose.service": "web",
      }),
    ).toBe("api");
    expect(
      targetNameOf({
        "hypercode.target": "",
        "com.docker.compose.project": "p",
        "com.docker.compose.service": "web",
      }),
    ).toBe("web");
    expect(targetNameOf({ "com.docker.compose.service": "web" })).toBeUndefined();
  });
});
