import type Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerSide } from "../../runner/docker/index.js";
import {
  containersOf,
  createFixture,
  demux,
  deployContext,
  type Fixture,
  requestFor,
  silentLog,
} from "./support.js";

let fx: Fixture;
let v1: { context: string; imageId: string };

beforeAll(async () => {
  fx = await createFixture();
  v1 = await fx.service("v1", { text: "v1" });
});

afterAll(async () => {
  await fx?.cleanup();
});

/**
 * A client on the target's network: every ~10 ms it resolves the alias (Docker's DNS, as a real
 * client does per connection) and GETs the first address; if that fails it tries the other
 * addresses, as curl, Go, Python and Node do. One line per request (Docker's log copier holds
 * back a line until it ends):
 * `.` the first address answered, `r` a later one did, `x` none did.
 */
const CLIENT = `
B=/bin/busybox
worker() {
  while [ ! -e /stop ]; do
    first=1; mark=x
    for ip in $($B nslookup "$ALIAS" 127.0.0.11 2>/dev/null | $B awk '/^Address: /{print $2}'); do
      if $B timeout 2 $B wget -q -O /dev/null "http://$ip:8080/" 2>/dev/null; then
        if [ $first = 1 ]; then mark=.; else mark=r; fi; break
      fi
      first=0
    done
    echo $mark
    $B usleep 10000
  done
}
# Four loops side by side: one loop of busybox processes manages a request every ~40 ms.
worker & worker & worker & worker & wait`;

interface Tally {
  requests: number;
  /** Requests a client that only tries the first address would have seen fail. */
  firstAddressFailures: number;
  /** Requests that failed on every address. */
  failures: number;
}

const tally = (marks: string): Tally => ({
  requests: marks.length,
  firstAddressFailures: [...marks].filter((m) => m !== ".").length,
  failures: [...marks].filter((m) => m === "x").length,
});

const startClient = async (alias: string) => {
  const c = await fx.docker.createContainer({
    Image: `${fx.repo}:v1`,
    Entrypoint: ["/bin/busybox", "sh", "-c"],
    Cmd: [CLIENT],
    Env: [`ALIAS=${alias}`],
    Labels: { "hypercode.test": fx.id },
    HostConfig: { NetworkMode: fx.network },
  });
  await c.start();
  const marks = async () => demux((await c.logs({ stdout: true })) as unknown as Buffer).replace(/\s/g, "");
  // Wait until it is really sending requests, all of them answered.
  for (let i = 0; (await marks()).length < 20; i++) {
    if (i > 100) throw new Error(`the client did not get going: '${await marks()}'`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { container: c, marks };
};

/** Runs `during` while the client keeps sending, and counts what the client saw meanwhile. */
const measure = async (client: { marks: () => Promise<string> }, during: () => Promise<unknown>) => {
  const before = (await client.marks()).length;
  const started = Date.now();
  await during();
  const ms = Date.now() - started;
  const marks = (await client.marks()).slice(before);
  return { ...tally(marks), ms, marks };
};

const stopClient = async (c: Dockerode.Container) => {
  const exec = await c.exec({ Cmd: ["/bin/busybox", "touch", "/stop"] });
  await exec.start({ hijack: true, stdin: false }).then((s) => new Promise((r) => s.on("end", r).resume()));
  await c.wait();
};

describe("zero downtime", () => {
  it("a rebuild of a 2-replica target loses no request; a plain stop-then-start of it does", async () => {
    const name = `hct${fx.id}-live`;
    const alias = `${name}-svc`;
    await fx.target({
      name,
      image: `${fx.repo}:v1`,
      replicas: 2,
      alias,
      labels: {
        "hypercode.actions": "rebuild",
        "hypercode.build.context": v1.context,
        "hypercode.build.args": "GREETING",
      },
    });
    const client = await startClient(alias);
    const { deployer } = createDockerSide({ log: silentLog, healthTimeoutMs: 30_000 });

    const rebuild = await measure(client, async () => {
      const outcome = await deployer.deploy(
        deployContext(requestFor(name, { action: "rebuild", build_args: { GREETING: "live" } })),
      );
      expect(outcome.state, outcome.detail).toBe("succeeded");
    });

    const replicas = await containersOf(fx, name);
    expect(replicas).toHaveLength(2);
    const stopStart = await measure(client, async () => {
      await Promise.all(replicas.map((c) => fx.docker.getContainer(c.Id).stop()));
      await Promise.all(replicas.map((c) => fx.docker.getContainer(c.Id).start()));
      await new Promise((r) => setTimeout(r, 500));
    });
    await stopClient(client.container);

    const line = (what: string, t: Tally & { ms: number }) =>
      `${what}: ${t.requests} requests in ${(t.ms / 1000).toFixed(1)} s, ${t.failures} failed on every address, ` +
      `${t.firstAddressFailures} failed on the first address`;
    process.stdout.write(`\n[zero-downtime] ${line("rebuild + start-first rollout", rebuild)}\n`);
    process.stdout.write(`[zero-downtime] ${line("stop-then-start", stopStart)}\n`);

    expect(rebuild.requests).toBeGreaterThanOrEqual(200);
    expect(rebuild.failures, rebuild.marks).toBe(0);
    // The same client does see an outage: the measurement is able to fail.
    expect(stopStart.failures, stopStart.marks).toBeGreaterThan(0);
  }, 120_000);
});
