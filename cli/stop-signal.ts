import type { Context } from "./command.js";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
export type StopSignal = (typeof SIGNALS)[number];

/**
 * Resolves with the first SIGINT or SIGTERM, so that a long-running command can close what it
 * started. A second signal while it is closing exits at once (130), for the impatient Ctrl-C.
 */
export const untilStopSignal = (ctx: Pick<Context, "err">): Promise<StopSignal> =>
  new Promise((resolve) => {
    const first = (signal: StopSignal) => {
      for (const s of SIGNALS) process.off(s, first);
      for (const s of SIGNALS) {
        process.once(s, () => {
          ctx.err(`hypercode: ${s} again: exiting without waiting.`);
          process.exit(130);
        });
      }
      resolve(signal);
    };
    for (const s of SIGNALS) process.on(s, first);
  });

let armed: Promise<StopSignal> | undefined;

/**
 * Starts listening for the stop signal now and returns the same promise until it has fired. A
 * long-running command arms it before it starts anything, so that a signal sent the moment its
 * banner appears (or while it is still starting) is a clean stop, never the default kill that
 * would leave a redis-server behind.
 */
export const armStopSignal = (ctx: Pick<Context, "err">): Promise<StopSignal> => {
  if (!armed) {
    const p = untilStopSignal(ctx);
    armed = p;
    void p.then(() => {
      if (armed === p) armed = undefined;
    });
  }
  return armed;
};

/** Waits for a stop signal, then closes what the command started, in order, and says so. */
export const serveUntilStopped = async (
  ctx: Context,
  closers: readonly (() => Promise<void>)[],
): Promise<void> => {
  const signal = await armStopSignal(ctx);
  ctx.err(`hypercode: ${signal}: stopping...`);
  for (const close of closers) await close();
  ctx.err("hypercode: stopped.");
};
