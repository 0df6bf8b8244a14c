import { startNodeIntake } from "../../edge/node/server.js";
import { redisUrl } from "../support/redis.js";
import { intakeSuite } from "./intake-suite.js";

intakeSuite("Node (@hono/node-server + ioredis)", async (prefix) => {
  const intake = await startNodeIntake({
    redisUrl: redisUrl(),
    port: 0,
    host: "127.0.0.1",
    env: { KEY_PREFIX: prefix },
  });
  return { runtime: "node", baseUrl: intake.url, prefix, stop: () => intake.close() };
});
