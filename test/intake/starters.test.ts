import { describe, expect, it } from "vitest";
import { addAgent, publishTarget, uniqueName } from "../support/fixtures.js";
import type { RunningIntake, StartIntakeOptions } from "../support/intake-runtime.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";
import { startWorkersIntake } from "../support/workers-intake.js";

/** The two test starters behave alike, so one intake suite can run over either. */
describe.each([
  { runtime: "node", start: startNodeTestIntake },
  { runtime: "workers", start: startWorkersIntake },
] as Array<{ runtime: string; start: (o: StartIntakeOptions) => Promise<RunningIntake> }>)(
  "$runtime intake starter",
  ({ runtime, start }) => {
    it("returns once the intake is ready, honours prefix and vars, and stop() frees its port", async () => {
      const client = testClient();
      const prefix = freshPrefix();
      const t0 = performance.now();
      const intake = await start({ redisUrl: redisUrl(), prefix, vars: { MAX_BODY_BYTES: "2048" } });
      try {
        console.info(`${runtime} intake ready in ${Math.round(performance.now() - t0)} ms`);
        expect(await (await fetch(new URL("/healthz", intake.baseUrl))).json()).toMatchObject({ runtime });
        expect((await fetch(new URL("/readyz", intake.baseUrl))).status).toBe(200);
        // The agent exists only under the prefix: a 202 proves KEY_PREFIX reached the app.
        const agent = uniqueName("agent");
        const target = uniqueName("svc");
        const key = await addAgent(client, prefix, { id: agent, targets: [target], actions: ["restart"] });
        await publishTarget(client, prefix, target, ["restart"]);
        const submit = (description: string) =>
          fetch(new URL("/v1/improvements", intake.baseUrl), {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
            body: JSON.stringify({
              target_agent: target,
              improvement_type: "reliability",
              description,
              payload: { action: "restart" },
            }),
          });
        expect((await submit("a restart, please")).status).toBe(202);
        // 3 KiB is over the MAX_BODY_BYTES it was given (the default is 64 KiB): vars arrive too.
        expect((await submit("x".repeat(3072))).status).toBe(413);
      } finally {
        await intake.stop();
        await intake.stop();
        await deletePrefix(client, prefix);
        client.disconnect();
      }
      await expect(fetch(new URL("/healthz", intake.baseUrl))).rejects.toThrow();
    });
  },
);
