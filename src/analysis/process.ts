// One process: judge its allocation stacks, the untracked remainder and its RSS, and
// sum them up into a verdict with a reason a user can act on.
import type { ProcessCapture, SamplePoint } from "../capture/model.js";
import type { LeakReport, ProcessSummary, SiteRow, TestReport, TestRunnerRecords, UnattributedGrowth, Verdict } from "../report/model.js";
import { runningWhileGrowing } from "./active.js";
import { decimate, thinRows } from "./stats/decimate.js";
import { upperEnvelope } from "./stats/envelope.js";
import { describe, type SeriesFeatures } from "./stats/features.js";
import { formatBytes, formatSec, frameLabel } from "./format.js";
import { pickSite, siteKey } from "./frames.js";
import { judgeSeries, type Judgement } from "./judge.js";
import { compareLeaks, describeLeak, freeListOf, pythonLeaks, seriesLeak, summedSeries } from "./leaks.js";
import { memoryFigures } from "./memory.js";
import { explainedStacks } from "./explanations.js";
import { nativeGrowth } from "./rules/native-growth.js";
import { NO_OWNER, nativeOwnerFields, noPythonFrame, noPythonFrameEvidence, noPythonFrameNote } from "./owners.js";
import { spreadGrowth } from "./rules/spread-growth.js";
import { steadyAndLarge, tooLittleDataReason } from "./rules/too-little-data.js";
import { indexAtTime, knownPoints } from "./stats/series.js";
import { beforeShutdown, freedAtExit, withFreedAtExit, workingCut } from "./shutdown.js";
import { judgeSiteGroups } from "./site-groups.js";
import { analyzeStacks, timeline, type StackAnalysis, type Timeline } from "./stacks.js";
import { THRESHOLDS } from "./thresholds.js";
import { judgeTests } from "./test-runs.js";
import { withTests } from "./test-leaks.js";
import { threadFigures } from "./threads.js";
import { splitBounded } from "./bounded.js";

/** A no-leak verdict that rests on a container's bound seen in the retainer search. */
const BOUNDED_CONFIDENCE = 0.8;

export interface ProcessResult {
  summary: ProcessSummary;
  leaks: LeakReport[];
  /** A pytest session: the tests that kept memory, and pytest's own records. */
  tests?: TestReport[];
  testRunner?: TestRunnerRecords | null;
  rows: SiteRow[];
  confidence: number;
}

interface Doubt {
  growth: number;
  text: string;
}

/**
 * One process's verdict. Samples taken after the program's shutdown began (analysis/shutdown.ts)
 * are not the program at work: when memory went away after that, or the shutdown took long (a
 * search before the cleanup, threads joined, slow atexit handlers: flat memory that is no plateau),
 * the samples taken while it worked are judged. A leak among them whose memory the shutdown
 * released is still a leak, "freed only at exit".
 */
export function analyzeProcess(proc: ProcessCapture): ProcessResult {
  const byTime = analyzeAroundShutdown(proc);
  const tests = judgeTests(proc);
  return tests ? withTests(proc, byTime, tests) : byTime;
}

/** The run judged as the program was at work: growth freed only while it shut down is still a leak. */
function analyzeAroundShutdown(proc: ProcessCapture): ProcessResult {
  const full = analyzeWindow(proc);
  const cut = workingCut(proc);
  if (!cut || cut.index === 0) return full;
  const n = proc.samples.length;
  const end = proc.samples[n - 1]!.t;
  const tailSec = end - proc.samples[cut.index - 1]!.t;
  const longTail = tailSec >= Math.max(THRESHOLDS.exitTailMinSec, THRESHOLDS.exitTailShare * end);
  // Samples taken at the mark and at exit (flat while the program waits for a search) are no
  // plateau either: the samples up to the cut are judged too, and a leak there is a leak.
  const view = beforeShutdown(proc, cut.index);
  const working = analyzeWindow(view);
  // Too little of the run before the shutdown to judge (unless it grew steadily by far more than
  // its noise: steadyAndLarge): the whole run says what it can.
  if (timeline(view).tooShort && working.leaks.length === 0) return full;
  // Threads as the program worked: a shutdown joins the threads it piled up.
  const threads = working.summary.threads ?? full.summary.threads;
  // Bounded growth as judged by the result whose reason is told.
  const summaryOf = (verdict: Verdict, reason: string, from: ProcessResult = working): ProcessSummary => {
    const bounded = from.summary.bounded;
    const { bounded: _, ...rest } = full.summary;
    return { ...rest, verdict, reason, ...(threads ? { threads } : {}), ...(bounded ? { bounded } : {}) };
  };
  // A line both judge to leak is told as the judgement that sees more of its growth: the whole run
  // may see only a small stack of it grow on, its big stacks flat over the search at exit.
  const known = new Map((longTail ? [] : full.leaks).map((l) => [leakKey(l), l] as const));
  const replaced = new Set<LeakReport>();
  const added: LeakReport[] = [];
  for (const leak of working.leaks) {
    const seen = known.get(leakKey(leak));
    if (seen && seen.growthBytes >= leak.growthBytes) continue;
    if (seen) replaced.add(seen);
    const freed = freedAtExit(proc, leak, cut);
    added.push(freed ? withFreedAtExit(leak, freed) : leak);
  }
  const leaks = [...(longTail ? [] : full.leaks.filter((l) => !replaced.has(l))), ...added].sort(compareLeaks);
  if (leaks.length === 0) {
    // Judged on the working samples: their verdict, the whole run's figures.
    return longTail
      ? { ...working, summary: summaryOf(working.summary.verdict, working.summary.reason), rows: full.rows }
      : { ...full, summary: summaryOf(full.summary.verdict, full.summary.reason, full) };
  }
  const top = leaks[0]!;
  const more = leaks.length > 1 ? `; ${leaks.length - 1} more growing site${leaks.length > 2 ? "s" : ""}` : "";
  return {
    summary: summaryOf("leak", `${describeLeak(top)}${more}`),
    leaks,
    rows: full.rows,
    confidence: leaks.reduce((m, l) => Math.max(m, l.confidence), 0),
  };
}

/** A leak's line, per kind (a line's Python objects and its native blocks are two leaks). */
function leakKey(l: LeakReport): string {
  return `${l.kind}:${siteKey(l.site) ?? `#${l.stackId}`}`;
}

function analyzeWindow(proc: ProcessCapture): ProcessResult {
  const tl = timeline(proc);
  const rss = column(proc.samples, "rss");
  const heap = column(proc.samples, "heap");
  const overhead = column(proc.samples, "overhead");
  const n = proc.samples.length;
  const exact = { warmupSec: tl.warmupSec, sampleBytes: 0 };
  const rssF = n ? describe(knownPoints(tl.times, rss), exact) : null;
  const heapF = n ? describe(knownPoints(tl.times, heap), { ...exact, sampleBytes: proc.collector.sampleBytes || 0 }) : null;
  const threads = threadFigures(proc.samples, tl.warmupSec);
  const summary = (verdict: Verdict, reason: string): ProcessSummary => ({
    pid: proc.pid,
    ppid: proc.ppid,
    argv: proc.argv,
    python: proc.python,
    collector: proc.collector,
    verdict,
    reason,
    durationSec: tl.durationSec,
    memory: { rss: memoryFigures(rss, rssF), heap: memoryFigures(heap, heapF) },
    ...(threads ? { threads } : {}),
    series: thinRows(tl.times, rss, heap, THRESHOLDS.seriesMaxPoints),
    warmupSec: tl.warmupSec,
  });

  if (n === 0) {
    return { summary: summary("inconclusive", "the process sent no samples before it ended"), leaks: [], rows: [], confidence: 0.1 };
  }
  const stacks = analyzeStacks(proc, tl);
  const rows = stacks.map((s) => siteRow(proc.pid, tl, s));
  // A run too short to judge, unless a site grew so steadily and so much that it can be (steadyAndLarge).
  if (tl.tooShort && !(n >= THRESHOLDS.minSamples && stacks.some((s) => steadyAndLarge(s.features)))) {
    return { summary: summary("inconclusive", tooLittleDataReason(n, tl.durationSec)), leaks: [], rows, confidence: 0.1 };
  }

  const groups = judgeSiteGroups(proc, tl, stacks);
  const leaks: LeakReport[] = pythonLeaks(proc, tl, stacks, groups);
  const doubts: Doubt[] = [];
  for (const s of [...stacks, ...groups.map((g) => ({ ...g, site: g.members[0].site }))]) {
    if (s.judgement.verdict === "unknown" && s.features.retainedGrowth >= THRESHOLDS.inconclusiveMinBytes) {
      doubts.push({ growth: s.features.retainedGrowth, text: `${frameLabel(s.site)} ${s.judgement.reason}` });
    }
  }

  // Growth spread over stacks too small to be tracked one by one.
  if (leaks.length === 0) {
    const other = column(proc.samples, "otherBytes");
    const f = describe(knownPoints(tl.times, other), {
      ...exact,
      sampleBytes: proc.collector.sampleBytes || 0,
      minGrowthBytes: spreadGrowth.minGrowthBytes,
    });
    const j = spreadGrowth.judge(f);
    if (j.verdict === "leak") {
      leaks.push(
        seriesLeak(proc.pid, {
          kind: "python",
          stackId: -1,
          site: null,
          stack: [],
          growthBytes: f.retainedGrowth,
          growthBytesPerSec: f.slope,
          liveBytes: f.last,
          liveCount: 0,
          confidence: j.confidence,
          evidence: j.reason,
          retainerNote: "no single allocation stack holds this memory, so no retainers were searched",
          series: summedSeries(tl.times, [other]),
        }),
      );
    } else if (j.verdict === "unknown" && j.reason) {
      doubts.push({ growth: f.retainedGrowth, text: j.reason });
    }
  }

  // Native growth: allocation stacks from a native shim when there is one, else RSS against the heap.
  const nativeStacks = proc.nativeSites.size ? analyzeStacks(proc, tl, proc.nativeSites) : [];
  const explained = nativeStacks.length ? explainedStacks(proc) : null;
  for (const s of nativeStacks) {
    if (s.judgement.verdict !== "leak") continue;
    const leak = seriesLeak(proc.pid, {
        kind: "native",
        stackId: s.stackId,
        site: s.site,
        stack: s.frames,
        growthBytes: s.features.retainedGrowth,
        growthBytesPerSec: s.features.slope,
        liveBytes: s.liveBytes,
        liveCount: s.liveCount,
        confidence: s.judgement.confidence,
        evidence: `native allocations ${s.judgement.reason}`,
        retainerNote: NO_OWNER,
        series: summedSeries(tl.times, [s.series.bytes]),
      });
    // Its Python owners, when the agent found them (analysis/owners.ts).
    const owned = nativeOwnerFields(proc, s, explained ?? undefined);
    Object.assign(leak, owned);
    if (!owned.retainerNote) delete leak.retainerNote;
    if (noPythonFrame(s.frames)) {
      if (!owned.owner) leak.retainerNote = noPythonFrameNote(threads);
      else if (threads?.growing) leak.evidence += `; ${noPythonFrameEvidence(threads)}`;
    }
    leaks.push(leak);
  }
  if (rssF && heapF && !leaks.some((l) => l.kind === "native")) {
    const native = judgeNative(proc, tl, rssF, heapF, column(proc.samples, "overhead"));
    if (native.leak) leaks.push(native.leak);
    else if (native.doubt) doubts.push(native.doubt);
  }

  // Growth into containers that hold at most so many items and were not full: it levels off.
  const split = splitBounded(leaks);
  leaks.splice(0, leaks.length, ...split.leaks);
  const withBounded = (s: ProcessSummary): ProcessSummary => (split.bounded.length ? { ...s, bounded: split.bounded } : s);
  const confidenceOfLeaks = leaks.reduce((m, l) => Math.max(m, l.confidence), 0);
  if (leaks.length) {
    leaks.sort(compareLeaks);
    const top = leaks[0];
    const more = leaks.length > 1 ? `; ${leaks.length - 1} more growing site${leaks.length > 2 ? "s" : ""}` : "";
    return { summary: withBounded(summary("leak", `${describeLeak(top)}${more}`)), leaks, rows, confidence: confidenceOfLeaks };
  }
  if (split.bounded.length) {
    const b = split.bounded[0];
    const more = split.bounded.length > 1 ? `; ${split.bounded.length - 1} more site${split.bounded.length > 2 ? "s" : ""} grew into bounded containers` : "";
    return {
      summary: withBounded(summary("no-leak", `growth into a bounded container, not a leak: ${b.text}${more}`)),
      leaks,
      rows,
      confidence: BOUNDED_CONFIDENCE,
    };
  }
  if (doubts.length) {
    doubts.sort((a, b) => b.growth - a.growth);
    return { summary: summary("inconclusive", doubts[0].text), leaks, rows, confidence: 0.25 };
  }
  const mover = largestMover(stacks);
  let reason = noLeakReason(tl, heapF, mover);
  // RSS that stayed up after the heap came back down: say why that is fine.
  const heapKept = heapF ? Math.max(0, heapF.retainedGrowth) : 0;
  const heapPeak = highWaterGrowth(heap, indexAtTime(tl.times, tl.warmupSec));
  if (
    rssF &&
    rssF.retainedGrowth - THRESHOLDS.heapToRss * heapKept >= THRESHOLDS.nativeMinBytes &&
    THRESHOLDS.heapToRss * heapPeak >= rssF.retainedGrowth
  ) {
    reason += `; RSS rose by ${formatBytes(rssF.retainedGrowth)} and stayed there, which the Python heap's peak explains (memory Python freed but the allocator kept)`;
  } else {
    reason += keptAfterWarmUpPeak(rss, heap);
  }
  return { summary: summary("no-leak", reason), leaks, rows, confidence: noLeakConfidence(tl, mover) };
}

function judgeNative(
  proc: ProcessCapture,
  tl: Timeline,
  rssF: SeriesFeatures,
  heapF: SeriesFeatures,
  overhead: Float64Array,
): { leak?: LeakReport; doubt?: Doubt } {
  const overheadF = describe(knownPoints(tl.times, overhead), { warmupSec: tl.warmupSec, sampleBytes: 0 });
  const rssJ: Judgement = judgeSeries(rssF);
  const from = indexAtTime(tl.times, tl.warmupSec);
  const heap = column(proc.samples, "heap");
  const result = nativeGrowth.judge({
    rss: rssF,
    rssVerdict: { verdict: rssJ.verdict, reason: rssJ.reason, confidence: rssJ.confidence },
    // A noisy heap lifts its own high-water mark; only a rise beyond its noise explains RSS.
    heapGrowth: Math.max(heapF.slope * heapF.duration, highWaterGrowth(heap, from) - heapF.tolerance),
    overheadGrowth: Math.max(overheadF.slope * overheadF.duration, highWaterGrowth(overhead, from) - overheadF.tolerance),
    collectorGrowth: proc.collector.name === "tracemalloc" ? THRESHOLDS.tracemallocBytesPerBlock * liveObjectGrowth(proc, tl) : 0,
  });
  if (result.verdict === "leak") {
    const rss = column(proc.samples, "rss");
    const nonPython = new Float64Array(rss.length);
    for (let i = 0; i < rss.length; i++) nonPython[i] = rss[i] - proc.samples[i].heap - overhead[i];
    // No sampled allocation accounts for it: name no line. What ran meanwhile is told as such.
    const unattributed = unattributedGrowth(proc, rss, from, rssF, result.unexplainedRate);
    return {
      leak: seriesLeak(proc.pid, {
        kind: "native",
        stackId: -1,
        site: null,
        stack: [],
        growthBytes: result.unexplainedBytes,
        growthBytesPerSec: result.unexplainedRate,
        liveBytes: result.unexplainedBytes,
        liveCount: 0,
        confidence: result.confidence,
        evidence: `${result.reason}; no allocation was sampled for it, so no line is named${runningWords(unattributed)}`,
        retainerNote: "native memory is not Python objects; there are no retainer paths",
        series: decimate(tl.times, nonPython, nonPython.length, THRESHOLDS.seriesMaxPoints),
        unattributed,
      }),
    };
  }
  if (rssJ.verdict === "unknown" && result.unexplainedBytes >= THRESHOLDS.nativeMinBytes) {
    return { doubt: { growth: result.unexplainedBytes, text: `RSS ${rssJ.reason}, more than the Python heap explains` } };
  }
  return {};
}

function unattributedGrowth(
  proc: ProcessCapture,
  rss: Float64Array,
  from: number,
  rssF: SeriesFeatures,
  rate: number,
): UnattributedGrowth {
  const running = runningWhileGrowing(proc, rss, from);
  const why = proc.collector.nativeSampling
    ? "the malloc shim sampled no C allocation that kept growing: memory the shim does not see (an allocator that bypasses malloc and mmap, maps laid over reserved space, the kernel's own)"
    : "C allocations were not sampled: the malloc shim was not loaded";
  return {
    fromSec: rssF.t0,
    toSec: rssF.t1,
    bytesPerSec: rate,
    why,
    samples: running.samples,
    samplesFlat: running.samplesFlat,
    candidates: running.candidates,
    evidence: running.candidates.length ? "weak" : "none",
  };
}

/** The top candidate line in a few words: its share of the samples while RSS rose, and while it did not. */
function runningWords(u: UnattributedGrowth): string {
  const c = u.candidates[0];
  if (!c) return "";
  const flat = c.shareWhileFlat === null ? "" : ` (${percent(c.shareWhileFlat)} while it did not)`;
  return `; only weak evidence of where: ${frameLabel(c.site)} was running in ${percent(c.share)} of ${u.samples} stack samples while RSS rose${flat}`;
}

function percent(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** Growth of the live object count over the window (robust trend), summed over the tracked stacks. */
function liveObjectGrowth(proc: ProcessCapture, tl: Timeline): number {
  const n = tl.times.length;
  const total = new Float64Array(n);
  for (const s of proc.sites.values()) {
    let last = 0;
    const count = s.count; // one dense copy per stack, not one per sample
    for (let i = 0; i < n; i++) {
      const v = count[i];
      if (!Number.isNaN(v)) last = v;
      total[i] += last;
    }
  }
  const f = describe(knownPoints(tl.times, total), { warmupSec: tl.warmupSec, sampleBytes: 0, minGrowthBytes: 1 });
  return Math.max(0, f.slope * f.duration);
}

/** Rise of the running maximum from `from` to the end. */
function highWaterGrowth(values: Float64Array, from: number): number {
  if (values.length === 0) return 0;
  const high = upperEnvelope(values);
  const start = from > 0 ? high[Math.min(from, values.length) - 1] : values[0];
  return high[values.length - 1] - start;
}

/** The stack whose growth was explained away by the most: the one the no-leak reason names. */
function largestMover(stacks: readonly StackAnalysis[]): StackAnalysis | null {
  let biggest: StackAnalysis | null = null;
  let size = 0;
  for (const s of stacks) {
    const g = Math.max(s.features.retainedGrowth, s.features.warmupGrowth, s.features.max - s.features.min);
    if (!s.features.negligible && g > size) {
      size = g;
      biggest = s;
    }
  }
  return biggest;
}

function noLeakReason(tl: Timeline, heapF: SeriesFeatures | null, biggest: StackAnalysis | null): string {
  const heap = heapF ? `; Python heap ${formatBytes(heapF.first)} → ${formatBytes(heapF.last)}` : "";
  let text =
    `no allocation stack kept growing over ${formatSec(tl.durationSec - tl.warmupSec)} after a ` +
    `${formatSec(tl.warmupSec)} warm-up${heap}`;
  // Name the biggest growth that was explained away, so the user sees why it is fine.
  if (biggest) text += `; largest mover, ${frameLabel(biggest.site)}: ${biggest.judgement.reason}`;
  return text;
}

/**
 * How sure "no leak" is: the power of the trend test over the window (a leak above the
 * growth threshold shows as a trend once there are enough intervals to see one), capped
 * by how sure the rule that explained the largest mover is (a cache judged bounded is as
 * sure as its plateau is long). The same scale as a leak's confidence.
 */
function noLeakConfidence(tl: Timeline, mover: StackAnalysis | null): number {
  const intervals = Math.max(0, Math.min(THRESHOLDS.maxSlices, tl.times.length - indexAtTime(tl.times, tl.warmupSec)) - 1);
  const power = 0.6 + 0.35 * Math.min(1, intervals / (THRESHOLDS.maxSlices - 1));
  const explained = mover && mover.judgement.verdict === "not-leak" && mover.judgement.rule !== "none" ? mover.judgement.confidence : 1;
  return Math.min(power, explained);
}

function siteRow(pid: number, tl: Timeline, s: StackAnalysis): SiteRow {
  const fl = freeListOf(tl, [s]);
  return {
    pid,
    stackId: s.stackId,
    site: s.site,
    stack: s.frames,
    liveBytes: s.liveBytes,
    liveCount: s.liveCount,
    ...rowGrowth(s),
    ...(fl && fl.bytes > 0 ? { freeListBytes: fl.bytes, freeLists: fl.kinds } : {}),
  };
}

/**
 * A site's change over the analysed window (after warm-up) and its rate, which always agree
 * in sign: a leak's retained growth with its trend (the figures of its leak card); any other
 * site's net change from the first to the last slice floor, over the window's length.
 */
function rowGrowth(s: StackAnalysis): { growthBytes: number; growthBytesPerSec: number } {
  if (s.judgement.verdict === "leak") return { growthBytes: s.features.retainedGrowth, growthBytesPerSec: s.features.slope };
  const seconds = s.features.duration;
  return { growthBytes: s.features.netGrowth, growthBytesPerSec: seconds > 0 ? s.features.netGrowth / seconds : 0 };
}

type NumericKey = "rss" | "heap" | "overhead" | "otherBytes";

function column(samples: readonly SamplePoint[], key: NumericKey): Float64Array {
  const out = new Float64Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i][key];
    out[i] = typeof v === "number" ? v : Number.NaN;
  }
  return out;
}


/**
 * RSS far above the Python heap at the end, where the heap had been high and came back down (a
 * burst in warm-up, which the trend after warm-up does not see): the RSS a user sees is memory Python
 * freed but the allocator kept (pymalloc arenas and malloc pages a few survivors pin), not growth.
 * "" when RSS is not far above the heap, or the heap's peak does not explain the gap.
 */
function keptAfterWarmUpPeak(rss: ArrayLike<number>, heap: ArrayLike<number>): string {
  if (!rss.length || !heap.length) return "";
  const rssEnd = rss[rss.length - 1]!;
  const heapEnd = heap[heap.length - 1]!;
  let heapPeak = 0;
  for (let i = 0; i < heap.length; i++) heapPeak = Math.max(heapPeak, heap[i]!);
  const gap = rssEnd - rss[0]! - Math.max(0, heapEnd - heap[0]!);
  const freed = heapPeak - heapEnd;
  if (gap < 4 * THRESHOLDS.nativeMinBytes || freed < gap / 2 || gap < 2 * heapEnd) return "";
  return `; RSS ended at ${formatBytes(rssEnd)}, ${formatBytes(rssEnd - heapEnd)} above the Python heap, which had peaked at ${formatBytes(heapPeak)} and came back down (memory Python freed but the allocator kept, not growth)`;
}
