/**
 * What the figures mean and what missing targets would take: written from the profiles and runs
 * of 2026-11-25 on a shared, loaded 2-core machine. Kept beside the generated figures so a rerun
 * does not lose them; revise them when the code or the figures move.
 */
export const HOW_TO_RUN = [
  "## Running it",
  "",
  "- `npm run bench` (a few minutes): all sections, writes this file. Needs `wrk`, `redis-server`/`redis-benchmark` and a Docker engine (what `.ci/run` installs).",
  "- `npm run bench -- --quick`: short runs and fewer samples, a smoke test of the harness; writes `<tmpdir>/BENCHMARKS.quick.md`. Its figures mean nothing.",
  "- `npm run bench -- --only intake,bundle` runs some sections; `--out FILE` writes elsewhere.",
  "- `node scripts/run-ts.mjs bench/profile-intake.ts [seconds]`: the intake under the same wrk load with `--cpu-prof`; prints self time per package and function, and Redis commandstats.",
  "- Benchmarks are not part of `npm test`. Each section starts its own redis-server, intake, runner processes (bundled by `scripts/run-ts.mjs`, i.e. plain Node) and Docker objects (labelled `hypercode.test=<id>`), and removes them at the end.",
  "- Peak RSS includes what `scripts/run-ts.mjs` loads before the entry (esbuild's JS API; its bundler runs in a separate process).",
].join("\n");

export const NOTES: Record<string, string> = {
  intake: [
    "**Reading it.** wrk, the intake and Redis share 2 cores (and other engineers' test suites shared them during this run: see the load average), so req/s is bounded by the CPU all three spend per request, not by one process. In the runs of 2026-11-25 the bare endpoint cost its Node process about 20 µs per request; the intake cost its process 140-200 µs plus Redis 45-80 µs (the submit script). That is the gap. Even with Redis and wrk on cores of their own, the intake's process alone would have to come down about 3.5× (to ~40 µs) for 0.5×; on 2 shared cores, the script's time in Redis alone is already twice the bare endpoint's whole cost. So the 0.5× target is out of reach within this design on this machine; the p99 target follows from it (at 50 connections, p99 is mostly queueing behind the CPU).",
    "",
    "**Profile** (`bench/profile-intake.ts`, self time of the intake process under wrk):",
    "- Before: 18% `writeUtf8String` (one socket write per EVALSHA), 14% + 4% WebCrypto's `crypto.subtle.digest` (a thread-pool job and transferable wrapping per hash). Two changes, each in its own commit: ioredis auto-pipelining in the Node entry (concurrent requests share a write: 18% → 7%) and SHA-256 as a port (`AppDeps.sha256Hex`, WebCrypto by default, node:crypto injected by the Node entry: 18% → 0.7%). Intake CPU per request went from 192-224 µs to 169-176 µs with the first; the second did not move it measurably under the load of the time.",
    "- Now: ~17% idle (the process waits for CPU and Redis), 7-9% GC, ~12% building a full undici `Request` with a web `ReadableStream` and an `AbortSignal` (`_Request`, `createAbortSignal`, `makeTransferable`, webstreams): `readJsonBody` streams `c.req.raw.body` to cap the size while reading, and touching `raw.body` makes @hono/node-server materialise the real Request. What it would take: a body-reading port the Node entry implements on the `IncomingMessage` (same streaming cap, same problems), with the current code as the portable default. Not done: it changes the 413/415/400 path every test suite covers, and there was no time to do it carefully.",
    "- Inside Redis the submit script costs ~50-80 µs per call: the inner commands are listed above (two sliding windows of ZREMRANGEBYSCORE, ZCARD, ZRANGE, ZADD, PEXPIRE; three XADDs: request stream, status stream, the request's own timeline; an HSET and two PEXPIREs). A one-off variant run (the script with parts cut out, redis-benchmark, load average ~9) gave 70 µs whole, 38 µs without the status writes, 30 µs without the two windows: the status timeline and the windows are each about half. Cutting them changes what the intake promises (status from the first moment, exact sliding windows), so they stay.",
  ].join("\n"),
  dispatch:
    "**Reading it.** The runner sits in a blocking XREADGROUP; the submit script's XADD wakes it, often before the intake's 202 has reached the client, hence medians around 0 ms. The p99 tail is scheduling on 2 busy cores.",
  rollout:
    "**Reading it.** The rebuild includes building the image (about a second here, even without a RUN step) and a start-first rollout: new replicas beside the old, wait for HEALTHCHECK (500 ms interval), drain, stop the old with their grace period. Stop-then-start is fast here because busybox starts in milliseconds and the health check passes on its first try; with a real service the start and health wait dominate both, and the ratio falls. Without the build the rollout was ~1.6× stop-then-start in these runs: just above the 1.5× target. The failures column is the point: stop-then-start loses requests every time, the rollout none. The build step had no RUN on purpose: a daemon of another engineer's test on this machine was running without the default bridge at the time, and a RUN step needs it.",
  scale:
    "**Reading it.** 2 runners, one deploy per target at a time (target locks), and coalescing folds the queued duplicates of a target into the next deploy: deploys run ≈ targets + the requests that arrived while their target's deploy was running. The drain time was 2.5-2.7× the ideal in these runs (every duplicate folded into one deploy per target, perfectly shared): the first requests of each target start a deploy before the rest have arrived.",
  bundle:
    "**What it would take.** zod is two thirds of the minified Worker (the full `z` API with its locale and JSON-schema code comes along). The schemas the Worker uses are in shared/protocol, shared/config and edge/config; moving them to `zod/mini` (same validation, functional API) would drop most of it, but the same schemas are used by the runner, the CLI and the JSON Schema export, so it is a change across shared/ with every suite (Node, workerd) to rerun: not attempted in this pass. @upstash/redis is the next 76 KiB (raw).",
};
