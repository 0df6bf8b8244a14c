import { setTimeout as sleep } from "node:timers/promises";
/** How a test starts the intake on one runtime, served over real HTTP. */
export interface StartIntakeOptions {
  /** The Redis the intake writes to (the Workers one reaches it through a REST bridge). */
  redisUrl: string;
  /** KEY_PREFIX: every key the intake writes lives under it. */
  prefix: string;
  /** Further intake variables (TARGET_BUDGET, MAX_BODY_BYTES...). */
  vars?: Record<string, string>;
}

export interface RunningIntake {
  readonly baseUrl: string;
  /** Stops the intake and everything started for it; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Polls until the intake is ready: `/healthz` answers for the expected runtime, then `/readyz`
 * says Redis answers (so the first test does not meet a client still connecting). With
 * `anyAnswer`, any HTTP response will do (for an intake that is meant to be misconfigured).
 */
export const waitUntilServing = async (
  baseUrl: string,
  runtime: "node" | "workers",
  {
    timeoutMs,
    failed,
    anyAnswer = false,
  }: { timeoutMs: number; failed?: () => Error | undefined; anyAnswer?: boolean },
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  const checks: Array<[path: string, ok: (res: Response, body: string) => boolean]> = anyAnswer
    ? [["/healthz", () => true]]
    : [
        ["/healthz", (res, body) => res.ok && body.includes(`"runtime":"${runtime}"`)],
        ["/readyz", (res) => res.ok],
      ];
  let last = "no answer yet";
  for (const [path, ok] of checks) {
    for (;;) {
      const early = failed?.();
      if (early) throw early;
      try {
        const res = await fetch(new URL(path, baseUrl), { signal: AbortSignal.timeout(2000) });
        const body = await res.text();
        if (ok(res, body)) break;
        last = `${path}: ${res.status} ${body.slice(0, 300)}`;
      } catch (err) {
        last = `${path}: ${String((err as Error).cause ?? err)}`;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the ${runtime} intake at ${baseUrl} was not ready within ${timeoutMs} ms (last: ${last})`,
        );
      }
      await sleep(100);
    }
  }
};
