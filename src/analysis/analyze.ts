// Capture → Report: judge every process, rank the leaks across processes, and say
// in one sentence what the user should believe and do.
import type { Capture, ProcessCapture } from "../capture/model.js";
import { REPORT_SCHEMA, type CauseReport, type LeakReport, type MemoryFigures, type Report, type SiteRow, type TestRunnerRecords, type Verdict } from "../report/model.js";
import { formatBytes } from "./format.js";
import { formatCount } from "../report/units.js";
import { groupCauses } from "./causes.js";
import { knownHolder } from "./holders.js";
import { failedTooSoonReason, isTooLittleData } from "./rules/too-little-data.js";
import { compareLeaks, describeLeak } from "./leaks.js";
import { analyzeProcess, type ProcessResult } from "./process.js";
import { mergeAcrossProcesses } from "./process-groups.js";
import { THRESHOLDS } from "./thresholds.js";

export interface AnalyzeOptions {
  capturePath?: string;
  leakhoundVersion?: string;
}

export function analyze(capture: Capture, opts: AnalyzeOptions = {}): Report {
  const results = capture.processes.map((p) => ({ proc: p, result: analyzeProcess(p) }));
  const top = topProcess(capture.processes);
  const topResult = results.find((r) => r.proc === top)?.result ?? null;

  const ranked: LeakReport[] = mergeAcrossProcesses(
    results.flatMap((r) => r.result.leaks),
    capture.processes,
  )
    .sort((a, b) => compareLeaks(a, b) || b.confidence - a.confidence)
    .slice(0, THRESHOLDS.maxLeaks)
    .map((l, i) => withHolder({ ...l, rank: i + 1 }));
  const { causes, leaks } = groupCauses(ranked);

  const sites: SiteRow[] = results
    .flatMap((r) => r.result.rows)
    .sort((a, b) => b.liveBytes - a.liveBytes)
    .slice(0, THRESHOLDS.maxSites);

  const { verdict, reason, confidence } = overall(capture, results, leaks, causes, top);
  const partial =
    capture.meta.complete === false || capture.processes.length === 0 || capture.processes.some((p) => !p.exited);

  const sources: Report["sources"] = {};
  for (const [key, snippet] of capture.sources) {
    sources[snippet.file || key] = { start: snippet.start, lines: snippet.lines };
  }

  const tests = results.flatMap((r) => r.result.tests ?? []);
  const runners = results.map((r) => r.result.testRunner).filter((x): x is TestRunnerRecords => Boolean(x));
  const testRunner = runners.length
    ? runners.reduce((a, b) => {
        const n = a.tests + b.tests;
        return { tests: n, bytes: a.bytes + b.bytes, bytesPerTest: (a.bytes + b.bytes) / n, countPerTest: (a.countPerTest * a.tests + b.countPerTest * b.tests) / n };
      })
    : null;

  return {
    schema: REPORT_SCHEMA,
    tool: { name: "leakhound", version: opts.leakhoundVersion ?? capture.meta.leakhoundVersion },
    verdict,
    reason,
    confidence,
    partial,
    notes: notes(capture),
    target: {
      argv: capture.meta.argv,
      pid: top?.pid ?? null,
      python: top?.python || null,
      exitCode: capture.meta.exitCode ?? top?.exitCode ?? null,
      signal: capture.meta.signal ?? top?.signal ?? null,
      stoppedBy: capture.meta.stoppedBy ?? null,
    },
    collector: top?.collector ?? null,
    durationSec: topResult?.summary.durationSec ?? 0,
    memory: topResult?.summary.memory ?? { rss: zeroFigures(), heap: zeroFigures() },
    ...(topResult?.summary.threads ? { threads: topResult.summary.threads } : {}),
    ...(results.some((r) => r.result.summary.bounded?.length) ? { bounded: results.flatMap((r) => r.result.summary.bounded ?? []) } : {}),
    causes,
    leaks,
    processes: results.map((r) => r.result.summary),
    sites,
    ...(results.some((r) => r.result.tests) ? { tests, testRunner } : {}),
    sources,
    capture: opts.capturePath ?? null,
  };
}

/** The process the user started: the first one whose parent is not also captured. */
export function topProcess(procs: readonly ProcessCapture[]): ProcessCapture | null {
  const pids = new Set(procs.map((p) => p.pid));
  return procs.find((p) => !pids.has(p.ppid)) ?? procs[0] ?? null;
}

function overall(
  capture: Capture,
  results: { proc: ProcessCapture; result: ProcessResult }[],
  leaks: LeakReport[],
  causes: CauseReport[],
  top: ProcessCapture | null,
): { verdict: Verdict; reason: string; confidence: number } {
  if (results.length === 0) {
    const why = capture.unsupported.length
      ? `no supported Python process ran under leakhound (${capture.unsupported
          .map((u) => `pid ${u.pid}, Python ${u.python}: ${u.reason}`)
          .join("; ")})`
      : capture.meta.signal
        ? `the target was ended by ${capture.meta.signal} before any Python process connected, so nothing was measured`
        : "no Python process connected to leakhound, so nothing was measured; check that the command starts a Python interpreter";
    return { verdict: "inconclusive", reason: why, confidence: 0 };
  }
  const child = (pid: number) => (top && pid !== top.pid ? ` in pid ${pid}` : "");
  if (leaks.length) {
    // The headline counts causes (one bug kept by one container is one leak), not sites.
    const first = leaks[0];
    const cause = causes.find((c) => c.id === first.cause);
    const n = causes.length;
    const more = n > 1 ? ` (${n} leaks in all)` : "";
    const where = first.group ? "" : child(first.pid);
    // Threads that pile up explain memory no line holds (each thread's own): the headline says so.
    const threads = results.find((r) => r.proc.pid === first.pid)?.result.summary.threads;
    const piling = threads?.growing ? `; threads ${formatCount(threads.start)} → ${formatCount(threads.end)}, still growing` : "";
    const reason =
      cause && cause.sites > 1
        ? `${n} leak${n > 1 ? "s" : ""}: ${cause.label}; ${cause.sites} allocation sites, ${formatBytes(cause.liveBytes)}${where}` +
          `${cause.freedAtExit ? " (freed only at exit)" : ""}; largest ${describeLeak(first)}${piling}`
        : cause?.explained
          ? `${n} leak${n > 1 ? "s" : ""}: ${cause.label}; ${describeLeak(first)}${where}${piling}`
          : `${describeLeak(first)}${where}${piling}${more}`;
    return { verdict: "leak", reason, confidence: Math.max(...leaks.map((l) => l.confidence)) };
  }
  // A short-lived helper process (a `python -c` a service runs, a fork that execs)
  // has too little data to judge; it does not make a decided run inconclusive.
  const decided = results.some((r) => r.result.summary.verdict !== "inconclusive");
  const tooShort = (r: (typeof results)[number]) =>
    r.proc !== top && (r.proc.samples.length < 6 || r.result.summary.durationSec < 3);
  const unsure = results.filter((r) => r.result.summary.verdict === "inconclusive" && !(decided && tooShort(r)));
  if (unsure.length) {
    const r = unsure.find((u) => u.proc === top) ?? unsure[0];
    // The target failed before the run was long enough: a longer run will not help, the failure will.
    const { exitCode, signal, stoppedBy } = capture.meta;
    const failed =
      r.proc === top && !stoppedBy && isTooLittleData(r.result.summary.reason) && (signal !== null || (exitCode !== null && exitCode !== 0));
    return {
      verdict: "inconclusive",
      reason: failed
        ? failedTooSoonReason(r.proc.samples.length, r.result.summary.durationSec, exitCode, signal)
        : `${r.result.summary.reason}${child(r.proc.pid)}`,
      confidence: r.result.confidence,
    };
  }
  const main = results.find((r) => r.proc === top) ?? results[0];
  const others = results.length > 1 ? ` (${results.length} processes, none leaking)` : "";
  // Helpers too short to judge say nothing either way; the confidence is the least sure decided process's.
  const judged = results.filter((r) => r.result.summary.verdict === "no-leak");
  return {
    verdict: "no-leak",
    reason: `${main.result.summary.reason}${others}`,
    confidence: Math.min(...judged.map((r) => r.result.confidence)),
  };
}

function notes(capture: Capture): string[] {
  const out: string[] = [...capture.meta.notes];
  const multi = capture.processes.length > 1;
  for (const p of capture.processes) {
    for (const log of p.logs) {
      if (log.level !== "warning" && log.level !== "error") continue;
      out.push(multi ? `pid ${p.pid}: ${log.message}` : log.message);
    }
    if (p.samples.length && !p.exited && p.explanations.length === 0) {
      out.push(`pid ${p.pid} did not exit normally while leakhound was attached, so its retainers were not searched`);
    }
  }
  for (const u of capture.unsupported) out.push(`pid ${u.pid} (Python ${u.python}) was not measured: ${u.reason}`);
  return [...new Set(out)];
}

function zeroFigures(): MemoryFigures {
  return { start: 0, end: 0, peak: 0, ratePerSec: 0 };
}

/** The leak with the standard library table that holds it, when its paths go through one (holders.ts). */
function withHolder(leak: LeakReport): LeakReport {
  const holder = knownHolder(leak);
  return holder ? { ...leak, holder } : leak;
}
