import type { Logger } from "pino";

/**
 * SIGTERM and SIGINT stop the runner cleanly (it finishes or hands back the job in hand) and then
 * end the process with 0; a second signal while stopping ends it at once with 1.
 */
export const stopOnSignals = (stop: () => Promise<void>, log: Logger): void => {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal while stopping; exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "stopping: no new work; finishing or handing back the job in hand");
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "could not stop cleanly");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
};
