import { defineConfig } from "vitest/config";
import main from "./vitest.config.js";

/**
 * Tests that must run alone (`*.serial.test.ts`: a Docker daemon restart), one file at a time,
 * after the main suite (`npm test` runs both, in that order). Same set-up as the main suite.
 */
export default defineConfig({
  test: {
    ...main.test,
    include: ["test/**/*.serial.test.ts"],
    exclude: ["**/node_modules/**"],
    fileParallelism: false,
  },
});
