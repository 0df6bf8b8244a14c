import { redisUrl } from "../support/redis.js";
import { startWorkersIntake } from "../support/workers-intake.js";
import { intakeSuite } from "./intake-suite.js";

intakeSuite("Workers (workerd via wrangler dev + @upstash/redis through the REST bridge)", async (prefix) => {
  const intake = await startWorkersIntake({ redisUrl: redisUrl(), prefix });
  return { runtime: "workers", baseUrl: intake.baseUrl, prefix, stop: intake.stop };
});
