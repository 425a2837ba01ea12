// Which test keeps memory, from the runs the agent's pytest plugin measured (what each run of
// each test kept after its teardown and a collection). Time-based analysis cannot answer this:
// a suite of thousands of tests may run in two seconds. Like CPython's `regrtest -R`, a test is
// judged on its runs after the first: memory kept on every run is a leak; memory kept on the
// first run only is a cache fill (or an import). Parametrized cases of one test are runs of one
// test ("test_checkout[*]"), and so are the runs of `--repeat`.
import type { ProcessCapture, TestRun } from "../capture/model.js";
import type { Frame } from "../protocol/messages.js";
import type { TestReport, TestRunnerRecords } from "../report/model.js";
import { formatBytes, frameLabel } from "./format.js";
import { pickSite } from "./frames.js";

/** A group kept less than this per run after its first is not worth a line. */
export const TEST_MIN_BYTES_PER_RUN = 256;
/** ...and less than this in all. */
export const TEST_MIN_BYTES = 4096;
/** Sites listed per test. */
const SITES_PER_TEST = 3;

/** "tests/a.py::test_x[3-b]" → "tests/a.py::test_x[*]"; an id without parameters is its own group. */
export function testGroup(id: string): string {
  const m = /^(.*)\[[^[\]]*\]$/.exec(id);
  return m ? `${m[1]}[*]` : id;
}

export interface TestJudgement {
  tests: TestReport[];
  runner: TestRunnerRecords | null;
  /** Bytes kept by stack after each group's first run, summed over the leaking groups' runs. */
  leakSites: Map<number, number>;
  /** Every stack's kept bytes by group (all runs), for `leaks[].tests`. */
  byStack: Map<number, Map<string, { bytes: number; runs: number }>>;
  /** Groups that ran more than once: a test that leaks could have been told apart. */
  repeated: number;
}

export function judgeTests(proc: ProcessCapture): TestJudgement | null {
  if (proc.tests.length === 0) return null;
  const sampleBytes = proc.collector.sampleBytes || 0;
  // Totals only (tracemalloc): pytest's own records are inside each run's figure. Most tests keep
  // nothing of their own, so the median run is the runner's share; it is taken off every run.
  const totalOnly = proc.tests.some((r) => r.totalOnly);
  const baseline = totalOnly ? runnerBaseline(proc.tests) : 0;
  const all = baseline ? proc.tests.map((r) => ({ ...r, retained: r.retained - baseline })) : proc.tests;
  const groups = new Map<string, TestRun[]>();
  for (const run of all) {
    const key = testGroup(run.id);
    const list = groups.get(key);
    if (list) list.push(run);
    else groups.set(key, [run]);
  }
  const tests: TestReport[] = [];
  const leakSites = new Map<number, number>();
  const byStack = new Map<number, Map<string, { bytes: number; runs: number }>>();
  let repeated = 0;
  for (const [group, runs] of groups) {
    if (runs.length > 1) repeated++;
    for (const run of runs) {
      for (const [stackId, bytes] of run.sites) {
        let m = byStack.get(stackId);
        if (!m) byStack.set(stackId, (m = new Map()));
        const e = m.get(group) ?? { bytes: 0, runs: runs.length };
        e.bytes += bytes;
        m.set(group, e);
      }
    }
    const report = judgeGroup(proc, group, runs, sampleBytes);
    if (!report) continue;
    tests.push(report);
    if (report.verdict === "leak") {
      for (const run of runs.slice(1)) for (const [stackId, bytes] of run.sites) leakSites.set(stackId, (leakSites.get(stackId) ?? 0) + bytes);
    }
  }
  tests.sort((a, b) => rank(a) - rank(b) || b.keptBytes - a.keptBytes);
  const runner = totalOnly
    ? { tests: proc.tests.length, bytes: baseline * proc.tests.length, bytesPerTest: baseline, countPerTest: 0, estimated: true }
    : runnerRecords(proc.tests);
  return { tests, runner, leakSites, byStack, repeated };
}

/** The median over tests of each test's median run (a test with many cases counts once). */
function runnerBaseline(runs: readonly TestRun[]): number {
  const byGroup = new Map<string, number[]>();
  for (const r of runs) {
    const key = testGroup(r.id);
    const list = byGroup.get(key);
    if (list) list.push(r.retained);
    else byGroup.set(key, [r.retained]);
  }
  return Math.max(0, median([...byGroup.values()].map((xs) => median(xs.length > 1 ? xs.slice(1) : xs))));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function rank(t: TestReport): number {
  return t.verdict === "leak" ? 0 : t.verdict === "once" ? 1 : 2;
}

/** One standard error of a sum of sampled bytes: about sqrt(B × interval); 0 for an exact collector. */
function sampledError(bytes: number, sampleBytes: number): number {
  return sampleBytes > 0 && bytes > 0 ? Math.sqrt(bytes * sampleBytes) : 0;
}

/**
 * One standard error of the bytes some runs kept, from their sites' figures: a block of s bytes is
 * sampled with p = 1 − e^(−s/m) and stands for s/p, so B bytes of such blocks vary by B·s·(1−p)/p
 * (≈ B·m for small blocks, little for blocks larger than the interval).
 */
function sitesError(runs: readonly TestRun[], sampleBytes: number): number {
  if (sampleBytes <= 0) return 0;
  let variance = 0;
  for (const run of runs) {
    for (const [, bytes, count] of run.sites) {
      if (bytes <= 0) continue;
      const size = count > 0 ? bytes / count : sampleBytes;
      const p = 1 - Math.exp(-size / sampleBytes);
      variance += (bytes * size * (1 - p)) / p;
    }
  }
  return Math.sqrt(variance);
}

function judgeGroup(proc: ProcessCapture, group: string, runs: TestRun[], sampleBytes: number): TestReport | null {
  const kept = runs.reduce((s, r) => s + r.retained, 0);
  const first = runs[0].retained;
  const later = runs.slice(1);
  const laterKept = later.reduce((s, r) => s + r.retained, 0);
  const perRun = later.length ? laterKept / later.length : 0;
  const positive = later.filter((r) => r.retained > 0).length;
  const err = later.some((r) => r.sites.length) ? sitesError(later, sampleBytes) : sampledError(laterKept, sampleBytes);
  const laterSure =
    later.length > 0 &&
    laterKept >= TEST_MIN_BYTES &&
    perRun >= TEST_MIN_BYTES_PER_RUN &&
    laterKept > 2 * err &&
    // An exact collector sees every run: most of them must keep memory.
    (sampleBytes > 0 || positive * 2 >= later.length);
  const firstSure = first >= TEST_MIN_BYTES && first > 2 * (runs[0].sites.length ? sitesError([runs[0]], sampleBytes) : sampledError(first, sampleBytes));
  let verdict: TestReport["verdict"] | null = null;
  if (laterSure) verdict = "leak";
  else if (firstSure && later.length > 0) verdict = "first-run";
  else if (firstSure || (kept >= TEST_MIN_BYTES && later.length === 0)) verdict = "once";
  if (!verdict) return null;

  // The stacks that kept the most: the runs after the first for a leak, else all of them.
  const siteBytes = new Map<number, number>();
  for (const run of verdict === "leak" ? later : runs) for (const [id, bytes] of run.sites) siteBytes.set(id, (siteBytes.get(id) ?? 0) + bytes);
  const sites = [...siteBytes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, SITES_PER_TEST)
    .map(([stackId, bytes]) => {
      const frames = proc.stacks.get(stackId) ?? [];
      return { stackId, site: pickSite(frames), stack: frames.slice(0, 8), bytes };
    });
  const cases = new Set(runs.map((r) => r.id)).size;
  const limit = runs.find((r) => typeof r.limit === "number")?.limit;
  const report: TestReport = {
    id: group,
    pid: proc.pid,
    runs: runs.length,
    cases,
    verdict,
    keptBytes: kept,
    firstRunBytes: first,
    bytesPerRun: perRun,
    ...(sampleBytes > 0 ? { bytesPerRunError: later.length ? err / later.length : sampledError(first, sampleBytes) } : {}),
    failed: runs.filter((r) => r.outcome === "failed").length,
    sites,
    evidence: evidence(verdict, runs.length, first, perRun, positive, later.length, sites[0]?.site ?? null),
    ...(limit !== undefined ? { maxRetained: limit, overLimit: runs.filter((r) => r.retained > limit).length } : {}),
  };
  return report;
}

function evidence(
  verdict: TestReport["verdict"],
  runs: number,
  first: number,
  perRun: number,
  positive: number,
  later: number,
  site: Frame | null,
): string {
  const at = site ? ` at ${frameLabel(site)}` : "";
  if (verdict === "leak") {
    return `kept ${formatBytes(perRun)} per run after the first (${positive} of ${later} later runs kept memory)${at}`;
  }
  if (verdict === "first-run") {
    return `kept ${formatBytes(first)} on its first run only${at}, nothing on the ${later} after: a cache fill or an import, not a leak`;
  }
  return `kept ${formatBytes(first)}${at} in its only run: run it again (--repeat 3) to tell a leak from a cache fill`;
}

/** pytest's own records (a report object per test, PYTEST_CURRENT_TEST, captured output): reported apart. */
function runnerRecords(runs: readonly TestRun[]): TestRunnerRecords | null {
  if (runs.length === 0) return null;
  let bytes = 0;
  let count = 0;
  for (const r of runs) {
    bytes += r.runner[0];
    count += r.runner[1];
  }
  return { tests: runs.length, bytes, bytesPerTest: bytes / runs.length, countPerTest: count / runs.length };
}
