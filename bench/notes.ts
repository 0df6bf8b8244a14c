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
    "**Reading it.** wrk, the intake and Redis share 2 cores (and other engineers' test suites shared them during this run: see the load average), so req/s is bounded by the CPU all three spend per request, not by one process: compare the CPU-per-request line above. The bare endpoint costs its Node process 20-25 µs per request; the intake costs its process about 3-4× that (70-80 µs) plus the submit script's time in Redis (40-80 µs depending on the machine's load: alone about twice the bare endpoint's whole cost). For 0.5× the intake's process plus its script would have to cost about twice the bare endpoint's, ~40 µs in all: not reachable with one Lua script doing auth, two sliding windows, idempotency and the status writes, on this machine. The p99 target follows from throughput: at 50 connections, p99 is mostly queueing behind the CPU.",
    "",
    "**What was done** (`bench/profile-intake.ts`, self time of the intake process under wrk; each change its own commit with its before/after):",
    "1. ioredis auto-pipelining in the Node entry: concurrent requests' EVALSHAs share a socket write (`writeUtf8String` 18% → 7% of samples; intake CPU 192-224 → 169-176 µs/request).",
    "2. SHA-256 as a port (`AppDeps.sha256Hex`): WebCrypto stays the portable default, the Node entry injects node:crypto (WebCrypto's per-call thread-pool job and transferable wrapping were ~18% of samples, now 0.7%; no clear change in CPU per request under the load of the time).",
    "3. A body with a declared Content-Length within the limit is read whole through the runtime's fast path: touching `c.req.raw.body` made @hono/node-server build a full undici Request, a web ReadableStream and an AbortSignal per submission. Intake CPU 154-168 → 76-81 µs/request, 4.7-5.0k → 7.1-7.9k req/s, p99 43-62 → 15-22 ms (profile runs, same session). Bodies without a length are still counted while streaming.",
    "",
    "**What is left.** In the profile the intake process is now ~30% idle (waiting for CPU and Redis); of the rest, socket writes (`writev` for responses, `writeUtf8String` for Redis) are ~19%, GC 7%, ioredis 6%. Inside Redis the script costs 45-80 µs: the inner commands are listed above (two sliding windows of ZREMRANGEBYSCORE, ZCARD, ZRANGE, ZADD, PEXPIRE; three XADDs: request stream, status stream, the request's own timeline; an HSET and two PEXPIREs). A one-off variant run (the script with parts cut out, redis-benchmark, load average ~9) gave 70 µs whole, 38 µs without the status writes, 30 µs without the two windows. Cutting them changes what the intake promises (a status from the first moment, exact sliding windows), so they stay.",
  ].join("\n"),
  dispatch:
    "**Reading it.** The runner sits in a blocking XREADGROUP; the submit script's XADD wakes it, often before the intake's 202 has reached the client, hence medians around 0 ms. The p99 tail is scheduling on 2 busy cores.",
  rollout:
    "**Reading it.** The rebuild includes building the image (most of a second here, even without a RUN step) and a start-first rollout: both new replicas start beside the old ones (the default surge, `hypercode.rollout.surge=all`), the runner waits for their HEALTHCHECK (500 ms interval), then retires both old ones together with their grace period. Without the build the rollout takes about as long as stop-then-start plus its health wait: both pay one start and one health wait, and the rollout's retirement overlaps nothing a client waits for. Until this change replicas were replaced one at a time (one health wait and one grace period per replica): 2.16× with the build, 1.69× without, in the same harness. Stop-then-start is fast here because busybox starts in milliseconds and the health check passes on its first try; with a real service the start and health wait dominate both, and the ratio falls towards 1. The failures column is the point: stop-then-start loses requests every time, the rollout none. A window counts the requests that started in it; before the client reported its window, requests of a stop-then-start window that were still waiting on a dead address landed in the next rollout window and were counted as the rollout's (3 in one run). The build step has no RUN on purpose: a daemon of another engineer's test on a shared machine may run without the default bridge, and a RUN step needs it.",
  scale:
    "**Reading it.** 2 runners, one deploy per target at a time (target locks), and coalescing folds the queued duplicates of a target into the next deploy: deploys run ≈ targets + the requests that arrived while their target's deploy was running. The drain time was 2.5-2.7× the ideal in these runs (every duplicate folded into one deploy per target, perfectly shared): the first requests of each target start a deploy before the rest have arrived.",
  bundle:
    '**Reading it.** The Worker was 160.6 KiB gzipped until edge/ and shared/ imported zod as `import { z } from "zod"`: that takes zod\'s namespace re-export as one object, which esbuild cannot tree-shake, so every locale (258 KiB of the minified bundle) came along. With `import * as z from "zod"` (one commit, same API and messages) it is ~96 KiB: under the target, with little margin. The rest is zod\'s core (~145 KiB raw, its JSON Schema export is needed for /openapi.json), @upstash/redis (~76 KiB raw), our code and hono. More room would take `zod/mini` for the schemas the Worker uses (shared/protocol, shared/config, edge/config), shared with the runner, the CLI and the JSON Schema export: a change across shared/ with every suite to rerun.',
};
