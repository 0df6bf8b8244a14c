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

/** Waits for a stop signal, then closes what the command started, in order, and says so. */
export const serveUntilStopped = async (
  ctx: Context,
  closers: readonly (() => Promise<void>)[],
): Promise<void> => {
  const signal = await untilStopSignal(ctx);
  ctx.err(`hypercode: ${signal}: stopping...`);
  for (const close of closers) await close();
  ctx.err("hypercode: stopped.");
};
