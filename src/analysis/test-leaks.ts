// A pytest session's verdict: its leaks are the tests that keep memory run after run
// (test-runs.ts), each found at the stack that kept the most and explained by the retainer
// search like any leak. Growth over time in such a process is mostly the session itself
// (collection, imports, pytest's records, first-run cache fills): a site that grew is kept as
// a leak only when a leaking test kept memory there or several tests did.
import type { ProcessCapture } from "../capture/model.js";
import type { LeakReport, TestReport } from "../report/model.js";
import { pickSite, siteKey } from "./frames.js";
import { compareLeaks, describeLeak, retainersOf } from "./leaks.js";
import type { ProcessResult } from "./process.js";
import type { TestJudgement } from "./test-runs.js";

/** A site that grew over time is the session's leak when at least this many tests kept memory there. */
const SHARED_BY_TESTS = 3;
/** Tests named per leak. */
const TESTS_PER_LEAK = 10;

export function withTests(proc: ProcessCapture, byTime: ProcessResult, tj: TestJudgement): ProcessResult {
  const rows = new Map(byTime.rows.map((r) => [r.stackId, r]));
  const testsAt = (stackId: number) =>
    [...(tj.byStack.get(stackId) ?? new Map<string, { bytes: number; runs: number }>())]
      .filter(([, e]) => e.bytes > 0)
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .map(([id, e]) => ({ id, bytes: e.bytes, runs: e.runs }));

  const leaks: LeakReport[] = [];
  const taken = new Set<string>();
  const duration = Math.max(1, byTime.summary.durationSec);
  for (const t of tj.tests) {
    if (t.verdict !== "leak") continue;
    if (t.sites.length === 0) {
      // Totals only (tracemalloc): the test is known, its sites are not.
      leaks.push({
        rank: 0,
        kind: "python",
        pid: proc.pid,
        site: null,
        stack: [],
        growthBytes: t.keptBytes - t.firstRunBytes,
        growthBytesPerSec: (t.keptBytes - t.firstRunBytes) / duration,
        liveBytes: t.keptBytes,
        liveCount: 0,
        confidence: confidenceOf(t),
        evidence: `${t.id} ${t.evidence} (${t.runs} runs)`,
        unreachable: false,
        retainerNote: "the tracemalloc collector measures each test's total only; the default sampling collector names the lines",
        retainers: [],
        stackId: -1,
        series: [],
        tests: [{ id: t.id, bytes: t.keptBytes, runs: t.runs }],
      });
      continue;
    }
    const top = t.sites[0];
    const key = siteKey(top.site) ?? `#${top.stackId}`;
    if (taken.has(key)) continue;
    taken.add(key);
    const growth = t.keptBytes - t.firstRunBytes;
    const fromTime = byTime.leaks.find((l) => l.stackId === top.stackId || (l.site && siteKey(l.site) === key));
    const evidence = `${t.id} ${t.evidence} (${t.runs} runs)`;
    const tests = testsAt(top.stackId).slice(0, TESTS_PER_LEAK);
    if (fromTime) {
      leaks.push({ ...fromTime, evidence, confidence: Math.max(fromTime.confidence, confidenceOf(t)), tests });
      continue;
    }
    const row = rows.get(top.stackId);
    const frames = proc.stacks.get(top.stackId) ?? top.stack;
    const live = { stackId: top.stackId, liveBytes: row?.liveBytes ?? growth, liveCount: row?.liveCount ?? 0 };
    const answers = retainersOf(proc, [live]);
    leaks.push({
      rank: 0,
      kind: "python",
      pid: proc.pid,
      site: pickSite(frames),
      stack: frames,
      growthBytes: growth,
      growthBytesPerSec: growth / duration,
      liveBytes: live.liveBytes,
      liveCount: live.liveCount,
      confidence: confidenceOf(t),
      evidence,
      unreachable: answers.unreachable,
      ...(answers.note ? { retainerNote: answers.note } : {}),
      retainers: answers.retainers,
      ...(answers.explainedAt ? { explainedAt: answers.explainedAt } : {}),
      stackId: top.stackId,
      series: [],
      tests,
    });
  }
  // Growth over time: kept where several tests kept memory at it (state shared across tests).
  for (const l of byTime.leaks) {
    const key = siteKey(l.site) ?? `#${l.stackId}`;
    if (taken.has(key)) continue;
    const tests = l.stackId >= 0 ? testsAt(l.stackId) : [];
    if (l.kind === "native" || tests.length >= SHARED_BY_TESTS) {
      taken.add(key);
      leaks.push({ ...l, ...(tests.length ? { tests: tests.slice(0, TESTS_PER_LEAK) } : {}) });
    }
  }
  leaks.sort(compareLeaks);

  const base = { ...byTime, leaks, tests: tj.tests, testRunner: tj.runner };
  const summary = { ...byTime.summary };
  const once = tj.tests.filter((t) => t.verdict === "first-run").length;
  if (leaks.length) {
    const more = leaks.length > 1 ? `; ${leaks.length - 1} more leaking site${leaks.length > 2 ? "s" : ""}` : "";
    summary.verdict = "leak";
    summary.reason = `${describeLeak(leaks[0])}${more}`;
    return { ...base, summary, confidence: Math.max(...leaks.map((l) => l.confidence)) };
  }
  const runs = proc.tests.length;
  const tested = new Set(proc.tests.map((r) => r.id)).size;
  const firstOnly = once ? `; ${once} kept memory on their first run only (cache fills, imports)` : "";
  if (tj.repeated > 0) {
    summary.verdict = "no-leak";
    summary.reason = `no test kept memory run after run (${tested} tests, ${runs} runs)${firstOnly}`;
    return { ...base, summary, confidence: 0.8 };
  }
  summary.verdict = "no-leak";
  summary.reason =
    `no memory kept across the ${tested} tests${firstOnly}; each ran once, so a test that leaks on every run ` +
    `cannot be told from a cache fill: run with --repeat 3`;
  return { ...base, summary, confidence: 0.5 };
}

/** Sure when an exact collector saw it; for a sampled one, by how far it stands above its error. */
function confidenceOf(t: TestReport): number {
  if (t.bytesPerRunError === undefined || t.bytesPerRun <= 0) return 0.95;
  return Math.min(0.95, Math.max(0.5, 1 - t.bytesPerRunError / t.bytesPerRun / 2));
}

