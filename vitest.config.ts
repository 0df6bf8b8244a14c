import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests that must run alone; vitest.serial.config.ts runs them after this suite.
    exclude: [...configDefaults.exclude, "test/**/*.serial.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Generous: CI shares two cores with whatever else runs; a timeout only costs when a test fails.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
