import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "node_modules/**"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    // One retry on a shared, noisy machine; every test that needed it is named (test/flaky-reporter.ts).
    retry: 1,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: each file has its own database; more workers only queue.
    maxWorkers: 2,
  },
});
