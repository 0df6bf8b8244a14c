import { startNodeIntake } from "../../edge/node/server.js";

/** The real Node intake, in its own process, so its memory and CPU are its own. */
const intake = await startNodeIntake({
  redisUrl: process.env.REDIS_URL as string,
  port: 0,
  host: "127.0.0.1",
  env: process.env,
});
process.stdout.write(`listening ${intake.port}\n`);
process.once("SIGTERM", () => intake.close().then(() => process.exit(0)));
