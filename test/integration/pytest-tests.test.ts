// Per-test leaks in real pytest sessions (pytest from pip on pyenv's CPython, Debian's
// python3-pytest on the system Python): which test keeps memory run after run, which only on its
// first run, pytest's own records apart, --repeat with fixture scopes intact, the leakhound
// marker failing a test, and pytest's exit code passed through.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runLeakhound, tempDir } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { reportErrors } from "../helpers/schema.js";

const SUITES = path.join(ROOT, "test", "fixtures", "pytest");

function hasPytest(python: string): boolean {
  try {
    execFileSync(python, ["-c", "import pytest"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Every CPython here that can import pytest, Debian's own included. */
function pytestPythons(): { version: string; path: string }[] {
  const all = findPythons().map((p) => ({ version: p.version, path: p.path }));
  if (fs.existsSync("/usr/bin/python3")) {
    const v = execFileSync("/usr/bin/python3", ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]).toString().trim();
    all.push({ version: `${v} (Debian)`, path: "/usr/bin/python3" });
  }
  return all.filter((p) => hasPytest(p.path));
}

const PYTHONS = pytestPythons();

/** A copy of a suite in a fresh folder (its __pycache__ stays out of the checkout). */
function suite(name: string): string {
  const dir = path.join(tempDir("lh-pytest-"), name);
  fs.cpSync(path.join(SUITES, name), dir, { recursive: true });
  return dir;
}

function pytest(python: string): string[] {
  return [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"];
}

// Only leakhound's plugin (named in PYTEST_PLUGINS, which pytest loads all the same) and the suite's
// own conftest: Debian's pytest loads every plugin installed on the machine, and one that breaks at
// start (pytest-qt without QtTest: INTERNALERROR, exit 3) would fail these tests for no fault of ours.
const ALONE = { PYTEST_DISABLE_PLUGIN_AUTOLOAD: "1" };

it("pytest is importable somewhere (python3-pytest is installed by scripts/setup-tools.sh)", () => {
  expect(PYTHONS.length).toBeGreaterThan(0);
});

describe.each(PYTHONS)("pytest on Python $version", ({ path: python }) => {
  it("--repeat 3: the leaking test by its runs, the cache fill by its first run, the marker fails a test", async () => {
    const cwd = suite("shop_suite");
    const r = await runLeakhound(pytest(python), ["--repeat", "3"], { cwd, env: ALONE, timeoutMs: 240_000 });
    expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
    // pytest's own exit code (1: the marked test failed at teardown) is leakhound's.
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/129 passed, 3 errors/);
    expect(r.stdout).toMatch(/test_bounded kept 4(\.0)? MiB .*after its teardown, more than max_retained=256 KiB/);

    const report = r.report;
    expect(report.verdict).toBe("leak");
    const byId = Object.fromEntries(report.tests.map((t: any) => [t.id, t]));
    const checkout = byId["test_orders.py::test_checkout[*]"];
    expect(checkout).toMatchObject({ verdict: "leak", runs: 120, cases: 40 });
    expect(checkout.bytesPerRun).toBeGreaterThan(8 * 1024);
    expect(checkout.bytesPerRun).toBeLessThan(20 * 1024);
    expect(checkout.sites[0].site).toMatchObject({ function: "checkout", line: 16 });
    expect(byId["test_orders.py::test_prices"]).toMatchObject({ verdict: "first-run", runs: 3 });
    expect(byId["test_orders.py::test_total"]).toBeUndefined();
    expect(byId["test_orders.py::test_bounded"]).toMatchObject({ verdict: "leak", maxRetained: 256 * 1024, overLimit: 3 });

    // The leak at the receipt line names its test and why it stays alive.
    const leak = report.leaks.find((l: any) => l.site?.line === 16);
    expect(leak.tests[0]).toMatchObject({ id: "test_orders.py::test_checkout[*]", runs: 120 });
    expect(leak.retainers[0].text).toMatch(/^module shop\.orders → _HISTORY \(list, 120 items\)/);
    // pytest's own records are reported apart, and are never a leak. Here they are ~1.5 KiB a test,
    // some six samples of 32 KiB over 129 tests: their sign is noise, so the clean suite (400 tests,
    // ~40 samples) checks that they are measured; this checks only that they are no leak.
    expect(report.testRunner.tests).toBe(129);
    expect(Math.abs(report.testRunner.bytesPerTest)).toBeLessThan(16 * 1024);
    for (const l of report.leaks) expect(l.site?.file ?? "").not.toMatch(/_pytest|pluggy/);

    expect(r.stderr).toMatch(/LEAKS\s+test_orders\.py::test_checkout\[\*\] \(120 runs, \+[\d.]+ KiB per run/);
    expect(r.stderr).toMatch(/allocated at shop\/orders\.py:16 in checkout, kept alive by module shop\.orders → _HISTORY/);
    expect(r.stderr).toMatch(/first run\s+test_orders\.py::test_prices: kept [\d.]+ KiB on its first run only/);
    expect(r.stderr).toMatch(/tests: test_orders\.py::test_checkout\[\*\] \(120 runs/);
  }, 260_000);

  it("--repeat keeps fixture scopes: the module fixture once, the function fixture per run; a test under its limit passes", async () => {
    const cwd = suite("fixture_suite");
    const events = path.join(cwd, "events.txt");
    const r = await runLeakhound(pytest(python), ["--repeat", "4"], { cwd, env: { ...ALONE, EVENTS_FILE: events }, timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/8 passed/);
    const lines = fs.readFileSync(events, "utf8").trim().split("\n");
    expect(lines.filter((l) => l === "module-setup")).toHaveLength(1);
    expect(lines.filter((l) => l === "function-setup")).toHaveLength(4);
    expect(lines.filter((l) => l === "function-teardown")).toHaveLength(4);
    expect(lines[lines.length - 1]).toBe("module-teardown");
    const t = r.report.tests.find((x: any) => x.id === "test_fixtures.py::test_uses_row");
    expect(t).toMatchObject({ verdict: "leak", runs: 4 });
    expect(t.sites[0].site).toMatchObject({ function: "session_row" });
  }, 220_000);

  it("many clean tests: pytest's records grow with the session, and that is no leak", async () => {
    const cwd = suite("clean_suite");
    const r = await runLeakhound(pytest(python), [], { cwd, env: ALONE, timeoutMs: 200_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
    expect(r.report.leaks).toEqual([]);
    expect(r.report.tests).toEqual([]);
    expect(r.report.testRunner.tests).toBe(400);
    expect(r.report.testRunner.bytesPerTest).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/pytest's own per-test records: [\d.]+ (B|KiB) per test/);
    expect(r.report.verdict).toBe("no-leak");
    expect(r.stderr).toMatch(/no test kept memory after its teardown/);
  }, 220_000);
});

describe("pytest without --repeat", () => {
  const python = PYTHONS[0]?.path ?? "python3";
  it.skipIf(PYTHONS.length === 0)("parametrized cases still tell the leak; a test that ran once is only listed; --fail-on-leak", async () => {
    const cwd = suite("shop_suite");
    // Without the failing marked test pytest passes, so --fail-on-leak decides the exit code.
    const r = await runLeakhound([...pytest(python), "-k", "not bounded"], ["--fail-on-leak"], { cwd, env: ALONE, timeoutMs: 200_000 });
    expect(r.stdout).toMatch(/42 passed/);
    expect(r.code).toBe(3);
    const byId = Object.fromEntries(r.report.tests.map((t: any) => [t.id, t]));
    expect(byId["test_orders.py::test_checkout[*]"].verdict).toBe("leak");
    expect(byId["test_orders.py::test_prices"].verdict).toBe("once");
    expect(byId["test_orders.py::test_prices"].evidence).toMatch(/--repeat 3/);
  }, 220_000);
});
