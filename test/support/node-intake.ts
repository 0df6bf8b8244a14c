import { startNodeIntake } from "../../edge/node/server.js";
import type { RunningIntake, StartIntakeOptions } from "./intake-runtime.js";
import { waitUntilServing } from "./intake-runtime.js";

/**
 * The intake on Node, through its real entry (edge/node/server.ts: ioredis + @hono/node-server)
 * on a free loopback port: the Node twin of startWorkersIntake, same options, same shape.
 */
export const startNodeTestIntake = async (opts: StartIntakeOptions): Promise<RunningIntake> => {
  const intake = await startNodeIntake({
    redisUrl: opts.redisUrl,
    port: 0,
    host: "127.0.0.1",
    env: { ...opts.vars, KEY_PREFIX: opts.prefix },
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= intake.close();
    return stopped;
  };
  try {
    // The fail-fast Redis client refuses commands until connected; wait until /readyz says so.
    await waitUntilServing(intake.url, "node", { timeoutMs: 10_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return { baseUrl: intake.url, stop };
};
