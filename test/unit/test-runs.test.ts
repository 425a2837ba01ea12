// Which test keeps memory: runs after the first (a leak) against the first run only (a cache
// fill), parametrized cases as runs of one test, sampling noise, pytest's own records apart,
// and a pytest session's verdict from its tests rather than from its growth over time.
import { describe, expect, it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import { judgeTests, testGroup } from "../../src/analysis/test-runs.js";
import { retainerTargets } from "../../src/analysis/targets.js";
import { emptyProcess, type ProcessCapture, type TestRun } from "../../src/capture/model.js";
import { renderTerminal } from "../../src/report/terminal.js";
import { reportErrors } from "../helpers/schema.js";

const RECEIPT = 7;
const PRICES = 8;
const PYTEST = 9;

function proc(runs: TestRun[], sampleBytes = 0): ProcessCapture {
  const p = emptyProcess(100);
  p.python = "3.12.1";
  p.startedAt = 1;
  p.argv = ["python3", "-m", "pytest"];
  p.collector = { name: sampleBytes ? "sampling" : "tracemalloc", intervalSec: 0.5, nframes: 16, sampleBytes };
  p.stacks.set(RECEIPT, [
    { file: "/src/shop/orders.py", line: 16, function: "checkout" },
    { file: "/src/tests/test_orders.py", line: 8, function: "test_checkout" },
  ]);
  p.stacks.set(PRICES, [{ file: "/src/shop/orders.py", line: 11, function: "load_prices" }]);
  p.stacks.set(PYTEST, [{ file: "/usr/lib/python3/dist-packages/_pytest/reports.py", line: 300, function: "from_item_and_call" }]);
  p.samples = [0, 1, 2].map((i) => ({ seq: i, t: i * 0.5, rss: 1e7, heap: 1e6, overhead: 0, gcEnabled: true, otherBytes: 0, cost: 0 }));
  p.exited = true;
  p.tests = runs;
  return p;
}

let t = 0;
function run(id: string, retained: number, sites: [number, number, number][] = [], extra: Partial<TestRun> = {}): TestRun {
  t += 0.01;
  return { id, run: 1, t, outcome: "passed", retained, sites, runner: [3500, 30], durationSec: 0.001, ...extra };
}

/** 40 checkout cases keeping 12 KiB each, a price table filled on the first of 3 runs, a clean test. */
function shop(sampleBytes = 0): ProcessCapture {
  const runs: TestRun[] = [];
  for (let n = 0; n < 40; n++) runs.push(run(`tests/test_orders.py::test_checkout[${n}]`, 12_288, [[RECEIPT, 12_288, 2]]));
  runs.push(run("tests/test_orders.py::test_prices", 400_000, [[PRICES, 400_000, 2000]]));
  runs.push(run("tests/test_orders.py::test_prices", 0), run("tests/test_orders.py::test_prices", 0));
  for (let i = 0; i < 3; i++) runs.push(run("tests/test_orders.py::test_total", i === 1 ? -4096 : 0));
  return proc(runs, sampleBytes);
}

describe("per-test judgement", () => {
  it("parametrized cases are runs of one test", () => {
    expect(testGroup("tests/a.py::test_x[3-b]")).toBe("tests/a.py::test_x[*]");
    expect(testGroup("tests/a.py::TestA::test_y")).toBe("tests/a.py::TestA::test_y");
    expect(testGroup("tests/a.py::test_z[a[1]]")).toBe("tests/a.py::test_z[a[1]]");
  });

  it("memory kept on every run is a leak; on the first run only, a cache fill; a clean test is not listed", () => {
    const j = judgeTests(shop())!;
    expect(j.tests.map((x) => [x.id, x.verdict])).toEqual([
      ["tests/test_orders.py::test_checkout[*]", "leak"],
      ["tests/test_orders.py::test_prices", "first-run"],
    ]);
    const checkout = j.tests[0];
    expect(checkout).toMatchObject({ runs: 40, cases: 40, bytesPerRun: 12_288, keptBytes: 40 * 12_288 });
    expect(checkout.sites[0]).toMatchObject({ stackId: RECEIPT, site: { line: 16, function: "checkout" } });
    expect(checkout.evidence).toMatch(/kept 12\.0 KiB per run after the first \(39 of 39 later runs kept memory\)/);
    expect(j.tests[1].evidence).toMatch(/first run only.*cache fill/);
    expect(j.runner).toMatchObject({ tests: 46, bytesPerTest: 3500 });
    expect(j.repeated).toBe(3);
  });

  it("a test that ran once and kept memory cannot be judged: it says to repeat it", () => {
    const j = judgeTests(proc([run("t.py::test_once", 500_000, [[PRICES, 500_000, 9]])]))!;
    expect(j.tests[0].verdict).toBe("once");
    expect(j.tests[0].evidence).toMatch(/--repeat 3/);
  });

  it("an exact collector needs most later runs to keep memory; one resize is not a leak", () => {
    const runs = [run("t.py::test_a", 0)];
    for (let i = 0; i < 9; i++) runs.push(run("t.py::test_a", i === 4 ? 65_536 : 0, i === 4 ? [[RECEIPT, 65_536, 1]] : []));
    expect(judgeTests(proc(runs))!.tests.find((x) => x.verdict === "leak")).toBeUndefined();
  });

  it("a sampled figure is a leak only well above its error", () => {
    // One 32 KiB sample over 4 later runs: could be one block, not a leak.
    const noisy = [run("t.py::test_b", 0), run("t.py::test_b", 0), run("t.py::test_b", 39_000, [[RECEIPT, 39_000, 1]]), run("t.py::test_b", 0), run("t.py::test_b", 0)];
    expect(judgeTests(proc(noisy, 32_768))!.tests.filter((x) => x.verdict === "leak")).toEqual([]);
    const steady = shop(32_768);
    const j = judgeTests(steady)!;
    expect(j.tests[0].verdict).toBe("leak");
    expect(j.tests[0].bytesPerRunError).toBeGreaterThan(0);
  });

  it("totals only (tracemalloc): pytest's share is the median test's, taken off every run", () => {
    const runs: TestRun[] = [];
    const total = (id: string, bytes: number) => run(id, bytes, [], { runner: [0, 0], totalOnly: true });
    for (let n = 0; n < 40; n++) runs.push(total(`t.py::test_leaky[${n}]`, 12_288 + 3_500));
    for (const name of ["a", "b", "c", "d"]) for (let i = 0; i < 3; i++) runs.push(total(`t.py::test_${name}`, 3_500));
    const j = judgeTests(proc(runs))!;
    expect(j.tests.map((x) => [x.id, x.verdict])).toEqual([["t.py::test_leaky[*]", "leak"]]);
    expect(j.tests[0].bytesPerRun).toBe(12_288);
    expect(j.runner).toMatchObject({ bytesPerTest: 3_500, estimated: true });
  });
});

describe("a pytest session's report", () => {
  it("its leaks are the leaking tests, named in leaks[].tests and tests[]; pytest's records are apart", () => {
    const report = analyze({ meta: { format: 4, leakhoundVersion: "x", createdAt: 0, argv: ["pytest"], cwd: "/src", complete: true, exitCode: 0, signal: null, notes: [] }, processes: [shop()], unsupported: [], sources: new Map() });
    expect(reportErrors(report)).toBeNull();
    expect(report.verdict).toBe("leak");
    expect(report.leaks).toHaveLength(1);
    expect(report.leaks[0].site).toMatchObject({ line: 16, function: "checkout" });
    expect(report.leaks[0].tests).toEqual([{ id: "tests/test_orders.py::test_checkout[*]", bytes: 40 * 12_288, runs: 40 }]);
    expect(report.tests!.map((x) => x.verdict)).toEqual(["leak", "first-run"]);
    expect(report.testRunner!.bytesPerTest).toBe(3500);
    const text = renderTerminal(report, { color: false, cwd: "/src" });
    expect(text).toMatch(/LEAKS\s+tests\/test_orders\.py::test_checkout\[\*\] \(40 runs, \+12\.0 KiB per run\)/);
    expect(text).toMatch(/first run\s+tests\/test_orders\.py::test_prices: kept 391 KiB on its first run only/);
    expect(text).toMatch(/pytest's own per-test records: 3\.4 KiB per test/);
    expect(retainerTargets(shop())[0]).toBe(RECEIPT);
  });

  it("no test leaking: no leak, whatever the session's own growth", () => {
    const p = shop();
    p.tests = p.tests.filter((r) => !r.id.includes("checkout"));
    const report = analyze({ meta: { format: 4, leakhoundVersion: "x", createdAt: 0, argv: ["pytest"], cwd: "/src", complete: true, exitCode: 0, signal: null, notes: [] }, processes: [p], unsupported: [], sources: new Map() });
    expect(report.verdict).toBe("no-leak");
    expect(report.reason).toMatch(/no test kept memory run after run \(2 tests, 6 runs\); 1 kept memory on their first run only/);
  });
});
