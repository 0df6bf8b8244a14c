import { intakeSuite } from "./intake/intake-suite.js";
import { redisUrl } from "./support/redis.js";
import { startWorkersIntake } from "./support/workers-intake.js";

intakeSuite("Workers (workerd via wrangler dev + @upstash/redis through the REST bridge)", async (prefix) => {
  const intake = await startWorkersIntake({ redisUrl: redisUrl(), prefix });
  return { runtime: "workers", baseUrl: intake.baseUrl, prefix, stop: intake.stop };
});
