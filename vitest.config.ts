import { defineConfig } from "vitest/config";

// Integration tests run real Python processes for seconds each; the machine has 2 cores. A test
// that fails is run once more (a loaded machine can starve a sampler or a search of its budget);
// test/helpers/flaky-reporter.ts lists every test that passed only on that retry, with the first
// failure, at the end of the run. LEAKHOUND_TEST_RETRY=0 turns the retry off.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./test/helpers/run-temp.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 2,
    retry: Number(process.env.LEAKHOUND_TEST_RETRY ?? 1),
    reporters: ["default", "./test/helpers/flaky-reporter.ts"],
  },
});
