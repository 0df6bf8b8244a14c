import { configDefaults, defineConfig } from "vitest/config";
import main from "./vitest.config.js";

/**
 * `npm run test:fast`: everything that needs no Docker engine (a laptop, a quick loop). It still
 * needs redis-server and, for the Workers and dashboard tests, workerd and Chromium. `npm test`
 * runs all of it and the Docker suites; CI runs `npm test`.
 */
export const NEEDS_DOCKER = [
  "test/runner/docker/{actions,compose,crash,escalation,fence,health,policy,redeploy-policy,revision-tags,zero-downtime}.test.ts",
  "test/runner/e2e.test.ts",
  "test/e2e/**",
  "test/campaign/runner-crash.test.ts",
  // Each starts a runner process, which looks for its targets through the engine.
  "test/cli/up.test.ts",
  "test/cli/runner.test.ts",
];

export default defineConfig({
  test: {
    ...main.test,
    exclude: [...configDefaults.exclude, "test/**/*.serial.test.ts", ...NEEDS_DOCKER],
  },
});
