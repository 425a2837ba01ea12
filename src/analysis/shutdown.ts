// "Freed only at exit is still a leak". Memory a program releases only while it shuts
// down (a pool's threads ending, a `with` block around the main loop closing, atexit
// handlers, the cleanup after --duration's SIGINT) must not cancel growth that went on
// for the whole run. The agent marks when the program stopped working (the main thread
// finished, its other threads finished, atexit began) and the host marks when it sent
// the SIGINT; the analysis then judges the samples from before that moment, and names a
// leak whose memory went away after it "freed only at exit". A burst freed while the
// program still worked stays in the judged window, so it stays "not a leak".
import type { ProcessCapture, ShutdownMark, SiteSeries } from "../capture/model.js";
import type { FreedAtExit, LeakReport } from "../report/model.js";
import { formatClock } from "../report/units.js";
import { formatBytes } from "./format.js";
import { pickSite, siteKey } from "./frames.js";
import { THRESHOLDS } from "./thresholds.js";

const WORDS: Record<ShutdownMark["what"], string> = {
  "main-end": "the main thread finished",
  "threads-end": "the program's last threads finished",
  atexit: "the program began to exit",
  signal: "leakhound sent SIGINT (--duration)",
};

/**
 * The moment the program stopped working: the earliest mark, except that the end of the
 * program's other threads replaces the main thread's end (they worked on after it).
 */
export function shutdownStart(marks: readonly ShutdownMark[]): ShutdownMark | null {
  let start: ShutdownMark | null = null;
  for (const m of marks) {
    if (!Number.isFinite(m.t)) continue;
    if (!start || m.t < start.t) start = m;
  }
  if (start?.what === "main-end") {
    const later = marks.find((m) => m.what === "threads-end" && m.t > start!.t);
    if (later) start = later;
  }
  return start;
}

export interface ShutdownCut {
  /** Samples [0, index) are the program at work. */
  index: number;
  mark: ShutdownMark;
}

/**
 * Where the working part of the samples ends: before the shutdown mark, less a grace of
 * about one and a half sample intervals, because a cleanup that the main code itself runs
 * last (a `with` block around the main loop) comes just before the main thread finishes.
 * Null when no mark is known or no sample was taken after it.
 */
export function shutdownCut(proc: ProcessCapture): ShutdownCut | null {
  const mark = shutdownStart(proc.shutdown ?? []);
  const n = proc.samples.length;
  if (!mark || n === 0) return null;
  const interval = proc.collector.intervalSec > 0 ? proc.collector.intervalSec : 0.5;
  const grace = Math.min(THRESHOLDS.exitGraceMaxSec, THRESHOLDS.exitGraceIntervals * interval);
  const from = mark.t - grace;
  let index = 0;
  while (index < n && proc.samples[index]!.t < from) index++;
  return index < n ? { index, mark } : null;
}

/**
 * The cut to judge the program at work by. shutdownCut's keeps a grace before the mark, for a
 * cleanup just before it (a `with` block around the main loop closing); when no allocation stack
 * released memory in that grace, the samples up to the mark itself are judged (on a short run
 * the grace would take the samples a verdict needs). Null when there is no mark.
 */
export function workingCut(proc: ProcessCapture): ShutdownCut | null {
  const cut = shutdownCut(proc);
  if (!cut || cut.index === 0) return cut;
  let atMark = cut.index;
  while (atMark < proc.samples.length && proc.samples[atMark]!.t < cut.mark.t) atMark++;
  if (atMark === cut.index || atMark >= proc.samples.length) return cut;
  for (const series of proc.sites.values()) {
    if (valueAt(series, cut.index - 1) - valueAt(series, atMark - 1) >= THRESHOLDS.minGrowthBytes) return cut;
  }
  return { ...cut, index: atMark };
}

/** A site's value at sample `i` (the last one known at or before it; 0 before its first report). */
function valueAt(series: SiteSeries, i: number): number {
  const bytes = series.bytes;
  for (let k = Math.min(i, bytes.length - 1); k >= 0; k--) if (!Number.isNaN(bytes[k]!)) return bytes[k]!;
  return 0;
}

/** Bytes a stack released after the cut (its value before the cut less its last one). */
export function freedAfterCut(proc: ProcessCapture, series: SiteSeries, cut: ShutdownCut): { before: number; freed: number } {
  if (cut.index === 0) return { before: 0, freed: 0 };
  const before = valueAt(series, cut.index - 1);
  return { before, freed: before - valueAt(series, proc.samples.length - 1) };
}

/** True when some allocation stack released at least the least growth that matters after the cut. */
export function droppedAfter(proc: ProcessCapture, cut: ShutdownCut): boolean {
  if (cut.index === 0) return false;
  const last = proc.samples.length - 1;
  for (const s of proc.sites.values()) {
    if (valueAt(s, cut.index - 1) - valueAt(s, last) >= THRESHOLDS.minGrowthBytes) return true;
  }
  return false;
}

/**
 * The process as it was at work: its first `index` samples (the series are views; nothing
 * after the cut is read).
 */
export function beforeShutdown(proc: ProcessCapture, index: number): ProcessCapture {
  const cutSeries = (m: Map<number, SiteSeries>) => {
    const out = new Map<number, SiteSeries>();
    for (const [id, s] of m) {
      const view: SiteSeries = {
        stackId: s.stackId,
        get bytes() {
          return s.bytes.subarray(0, index);
        },
        get count() {
          return s.count.subarray(0, index);
        },
      };
      // A change-point series writes into buffers of the cut's length (typed arrays clip the rest).
      if (s.fill) view.fill = (b, c) => s.fill!(b, c);
      if (s.freeListBytes) {
        Object.defineProperty(view, "freeListBytes", { enumerable: true, get: () => s.freeListBytes!.subarray(0, index) });
        view.freeListKinds = s.freeListKinds;
      }
      out.set(id, view);
    }
    return out;
  };
  const active = new Map<number, [number, number][]>();
  for (const [id, hits] of proc.active) {
    const kept = hits.filter(([i]) => i < index);
    if (kept.length) active.set(id, kept);
  }
  return {
    ...proc,
    samples: proc.samples.slice(0, index),
    sites: cutSeries(proc.sites),
    nativeSites: cutSeries(proc.nativeSites),
    active,
  };
}

/**
 * A leak judged on the working samples whose memory went away after the cut: how much was
 * freed, and when the shutdown began; null when its memory stayed (or the leak is not one
 * of allocation stacks).
 */
export function freedAtExit(proc: ProcessCapture, leak: LeakReport, cut: ShutdownCut): FreedAtExit | null {
  if (leak.kind !== "python" || leak.stackId < 0 || cut.index === 0) return null;
  const key = siteKey(leak.site);
  let before = 0;
  let after = 0;
  const last = proc.samples.length - 1;
  for (const s of proc.sites.values()) {
    const member = key ? siteKey(pickSite(proc.stacks.get(s.stackId))) === key : s.stackId === leak.stackId;
    if (!member) continue;
    before += valueAt(s, cut.index - 1);
    after += valueAt(s, last);
  }
  const freed = before - after;
  if (freed < THRESHOLDS.minGrowthBytes || freed < THRESHOLDS.exitFreedShare * Math.max(0, leak.growthBytes)) return null;
  const { t, what } = cut.mark;
  return {
    t,
    what,
    freedBytes: freed,
    text: `freed only at exit: ${formatBytes(freed)} was released after ${WORDS[what]} at ${formatClock(t)}`,
  };
}

/** The agent's note for a stack none of whose sampled blocks the search found as objects (retainers/__init__.py NOTE_NOT_FOUND). */
const NOT_FOUND_NOTE = "nothing refers to it: no Python object holds a reference (a reference leaked in C?)";

/**
 * The leak with its memory freed at exit in its evidence. A search that found none of its objects
 * says "nothing refers to it (a reference leaked in C?)"; but memory the shutdown released was held
 * by something that ended then (a search that came just after the program's main function returned
 * finds its locals' objects gone), not by a reference leaked in C, which is never given back.
 */
export function withFreedAtExit(leak: LeakReport, freed: FreedAtExit): LeakReport {
  const out: LeakReport = { ...leak, evidence: `${leak.evidence}; ${freed.text}`, freedAtExit: freed };
  if (!leak.retainers.length && leak.unreachable && leak.retainerNote?.startsWith(NOT_FOUND_NOTE)) {
    out.unreachable = false;
    out.retainerNote =
      `the search found none of its sampled objects alive, and its memory was released after ${WORDS[freed.what]}: ` +
      "what held it ended then (most likely a local variable of a function that had returned, such as the program's main function), not a reference leaked in C";
  }
  return out;
}
