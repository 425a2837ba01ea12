// Lists, at the end of a run, the tests that passed only on a retry (vitest.config.ts retries an
// integration test once: real processes on a loaded 2-core machine), with the error of the attempt
// that failed, so a retry never hides a flaky test or an intermittent bug.
import type { Reporter, TestCase } from "vitest/node";

export default class FlakyReporter implements Reporter {
  private readonly flaky: string[] = [];

  onTestCaseResult(test: TestCase): void {
    const d = test.diagnostic();
    if (!d || d.retryCount === 0 || test.result().state !== "passed") return;
    // The failed attempt's error stays on the runner's task (the public result has the last attempt's).
    const task = (test as unknown as { task?: { result?: { errors?: { message?: string }[] } } }).task;
    const first = task?.result?.errors?.[0]?.message?.split("\n")[0] ?? "";
    this.flaky.push(`${test.module.moduleId.replace(process.cwd() + "/", "")} › ${test.fullName} (passed after ${d.retryCount} ${d.retryCount === 1 ? "retry" : "retries"})${first ? `: first failure: ${first}` : ""}`);
  }

  onTestRunEnd(): void {
    if (this.flaky.length === 0) return;
    process.stdout.write(`\nFLAKY: ${this.flaky.length} test(s) passed only on a retry:\n${this.flaky.map((f) => `  ${f}\n`).join("")}`);
  }
}
