// Judges every allocation stack of one process with the series rules. One pair of
// scratch buffers serves all stacks, and stacks that never moved by the minimum
// growth are dismissed after a single pass.
import type { ProcessCapture, SiteSeries } from "../capture/model.js";
import type { Frame } from "../protocol/messages.js";
import { describe, type SeriesFeatures } from "./stats/features.js";
import { isImportSystem, pickSite } from "./frames.js";
import { judgeSeries, type Judgement } from "./judge.js";
import { emptySlices } from "./stats/slices.js";
import { emptySeries, knownPoints, lastKnown } from "./stats/series.js";
import { THRESHOLDS } from "./thresholds.js";

export interface Timeline {
  times: Float64Array;
  /** Seconds since the process started that count as warm-up. */
  warmupSec: number;
  /** Seconds since start of the last sample. */
  durationSec: number;
  /** Too few samples or too short a run to judge anything. */
  tooShort: boolean;
}

export function timeline(proc: ProcessCapture): Timeline {
  const n = proc.samples.length;
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) times[i] = proc.samples[i].t;
  const durationSec = n ? times[n - 1] : 0;
  return {
    times,
    warmupSec: Math.min(THRESHOLDS.warmupMaxSec, THRESHOLDS.warmupFraction * durationSec),
    durationSec,
    tooShort: n < THRESHOLDS.minSamples || durationSec < THRESHOLDS.minDurationSec,
  };
}

export interface StackAnalysis {
  stackId: number;
  frames: Frame[];
  site: Frame | null;
  features: SeriesFeatures;
  judgement: Judgement;
  liveBytes: number;
  liveCount: number;
  series: SiteSeries;
}

/**
 * A site's dense series of `n` samples: written into the caller's scratch arrays (length ≥ n)
 * for a series kept as change points, else the series' own arrays. Valid until the next call.
 */
export function denseSeries(series: SiteSeries, n: number, bytesBuf: Float64Array, countBuf: Float64Array): { bytes: Float64Array; count: Float64Array } {
  if (!series.fill) return { bytes: series.bytes, count: series.count };
  series.fill(bytesBuf, countBuf);
  return { bytes: bytesBuf.subarray(0, n), count: countBuf.subarray(0, n) };
}

/** The series rules' verdict, except that growth while modules are imported is code being loaded (frames.ts). */
export function judgeStack(features: SeriesFeatures, frames: readonly Frame[]): Judgement {
  const j = judgeSeries(features);
  if (j.verdict !== "leak" || !isImportSystem(frames)) return j;
  return {
    verdict: "not-leak",
    rule: "imports",
    reason: "allocated while modules were imported (their code, extension modules, what their top-level code makes): kept by sys.modules, bounded by the code the program loads",
    confidence: 0.7,
  };
}

export function analyzeStacks(
  proc: ProcessCapture,
  tl: Timeline,
  sites: Map<number, SiteSeries> = proc.sites,
): StackAnalysis[] {
  const n = tl.times.length;
  const scratch = emptySeries(n);
  // Series kept as change points are written into these, one stack at a time.
  const bytesBuf = new Float64Array(n);
  const countBuf = new Float64Array(n);
  const slices = emptySlices(THRESHOLDS.maxSlices);
  const sampleBytes = proc.collector.sampleBytes || 0;
  const out: StackAnalysis[] = [];
  for (const series of sites.values()) {
    const { bytes, count: counts } = denseSeries(series, n, bytesBuf, countBuf);
    knownPoints(tl.times, bytes, 0, scratch);
    const features = describe(scratch, { warmupSec: tl.warmupSec, sampleBytes, scratch: slices });
    const frames = proc.stacks.get(series.stackId) ?? [];
    const live = lastKnown(bytes);
    const count = lastKnown(counts);
    out.push({
      stackId: series.stackId,
      frames,
      site: pickSite(frames),
      features,
      judgement: judgeStack(features, frames),
      liveBytes: Number.isNaN(live) ? 0 : live,
      liveCount: Number.isNaN(count) ? 0 : count,
      series,
    });
  }
  return out;
}
