import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { traceLines } from "../../../runner/docker/buildkit-trace.js";

/**
 * The hand-written reader against messages encoded by protobufjs from BuildKit's StatusResponse
 * schema (the copy dockerode ships): an encoder that shares nothing with the reader. The real
 * engine's messages are read in actions.test.ts (a failing rebuild's log).
 */

const schema = join(
  dirname(createRequire(import.meta.url).resolve("dockerode/package.json")),
  "lib",
  "proto",
  "buildkit_status.proto",
);
const StatusResponse = protobuf.loadSync(schema).lookupType("moby.buildkit.v1.StatusResponse");

const encode = (message: Record<string, unknown>): string =>
  Buffer.from(StatusResponse.encode(StatusResponse.fromObject(message)).finish()).toString("base64");

const at = { seconds: 1_795_000_000, nanos: 5 };

describe("traceLines: BuildKit's trace messages as build log lines", () => {
  it("a step's name when it starts, its output, then its error, in the order a build sends them", () => {
    const step = { digest: "sha256:4f509", name: "[2/2] RUN make", started: at };
    expect(traceLines(encode({ vertexes: [step] }))).toEqual(["#[2/2] RUN make"]);
    expect(
      traceLines(
        encode({ logs: [{ vertex: "sha256:4f509", stream: 1, msg: Buffer.from("make: all\nüñí ok") }] }),
      ),
    ).toEqual(["make: all", "üñí ok"]);
    expect(
      traceLines(
        encode({ vertexes: [{ ...step, completed: at, error: "process did not complete: exit code: 2" }] }),
      ),
    ).toEqual(["ERROR: [2/2] RUN make: process did not complete: exit code: 2"]);
  });

  it("a step that completes without error, or a cached one, adds nothing", () => {
    expect(
      traceLines(
        encode({
          vertexes: [{ name: "[1/2] COPY busybox /bin/busybox", started: at, completed: at, cached: true }],
        }),
      ),
    ).toEqual([]);
  });

  it("skips the fields it does not read: progress statuses (large varints), warnings, a vertex's digest and inputs", () => {
    const message = encode({
      statuses: [{ ID: "layer", name: "sending tarball", current: 123_456_789_012, total: 2 ** 40 }],
      warnings: [{ vertex: "v", level: 1, short: Buffer.from("deprecated"), url: "https://x" }],
      vertexes: [{ digest: "d", inputs: ["a", "b"], name: "[1/1] FROM scratch", started: at }],
    });
    expect(traceLines(message)).toEqual(["#[1/1] FROM scratch"]);
  });

  it("garbage or a cut message costs its lines, never an exception", () => {
    const whole = Buffer.from(
      encode({ vertexes: [{ name: "[1/1] RUN x", started: at }], logs: [{ msg: Buffer.from("out") }] }),
      "base64",
    );
    expect(() => traceLines(whole.subarray(0, whole.length - 2).toString("base64"))).not.toThrow();
    expect(traceLines("not base64 at all!")).toEqual([]);
    expect(traceLines(Buffer.from([0xff, 0xff, 0xff]).toString("base64"))).toEqual([]);
    expect(traceLines("")).toEqual([]);
  });
});
