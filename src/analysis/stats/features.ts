// Everything the rules know about one memory series, computed once in a few linear
// passes. Rules only read these numbers, so each rule stays a few lines of logic.
import { findCycles, type Cycles } from "./cycles.js";
import { bestHinge, type Hinge } from "./hinge.js";
import { jitter, samplingError, typicalRise } from "./noise.js";
import { finalPlateau, type Plateau } from "./plateau.js";
import { indexAtTime, maxOf, minOf, type Series } from "./series.js";
import { copySlices, emptySlices, slice, sliceAtTime, type Slices } from "./slices.js";
import { mannKendallZ, theilSen } from "./slope.js";
import { THRESHOLDS } from "../thresholds.js";

export interface FeatureOptions {
  /** Seconds since start before which samples count as warm-up. */
  warmupSec: number;
  /** Mean bytes between sampled allocations (0 for exact collectors). */
  sampleBytes: number;
  /** Least growth worth calling a leak (defaults to THRESHOLDS.minGrowthBytes). */
  minGrowthBytes?: number;
  /**
   * Slices to write into when judging many series in a row: a series that never moved
   * by the least growth keeps no slices of its own (its features say so with k = 0
   * slices), the others get a copy. Saves most of the work on runs with 100,000 stacks.
   */
  scratch?: Slices;
}

/** The slices of a negligible series judged with a scratch: none kept. */
const NO_SLICES: Slices = Object.freeze(emptySlices(0));

export interface SeriesFeatures {
  /** Points in the analysed window (after warm-up). */
  n: number;
  t0: number;
  t1: number;
  duration: number;
  warmupSec: number;
  /** Retained growth during warm-up: how far the least value of the window sits above the least value before it. */
  warmupGrowth: number;
  first: number;
  last: number;
  min: number;
  max: number;
  /** True when the series never moved by minGrowth anywhere: nothing to judge. */
  negligible: boolean;
  slices: Slices;
  /** Theil–Sen slope of the slice floors, bytes per second. */
  slope: number;
  /** Mann–Kendall z of the slice floors. */
  trendZ: number;
  /** Sample-to-sample noise (robust σ), bytes. */
  jitter: number;
  /** Sampling collector's estimate error at the series' level, bytes. */
  samplingError: number;
  /** Level changes smaller than this are noise. */
  tolerance: number;
  /** Least retained growth that can count as a leak. */
  minGrowth: number;
  /** Rise of the retained floor over the window. */
  retainedGrowth: number;
  /** Last slice floor minus first slice floor (signed). */
  netGrowth: number;
  /** Steps between slices in which the retained floor rose, and how many steps there are. */
  grew: number;
  intervals: number;
  /** Seconds from the first interval in which the retained floor rose to the end of the window. */
  growingSec: number;
  plateau: Plateau;
  /** Theil–Sen slope of the slice floors within the final plateau (bytes/s; 0 with fewer than 3 slices). */
  plateauSlope: number;
  /** Best "rise, then flat" fit of the slice floors with a flat part of at least plateauFraction of the window. */
  hinge: Hinge | null;
  /** Theil–Sen slope of the slice floors after the hinge's break. */
  hingeTailSlope: number;
  firstHalfGrowth: number;
  secondHalfGrowth: number;
  /** First slice of "the end" of the window, and retained growth before and within it. */
  endStart: number;
  earlyGrowth: number;
  lateGrowth: number;
  /** Mann–Kendall z of the slice floors before the end. */
  earlyTrendZ: number;
  /** The level held at the end is above anything seen before the end. */
  lateSurge: boolean;
  /** Rise-and-fall cycles (null when the series never dropped by the drop threshold). */
  cycles: Cycles | null;
  /** Typical rise per sample. */
  riseStep: number;
}

const T = THRESHOLDS;

/** Features of `s`; `s` holds the whole series (warm-up included), times ascending. */
export function describe(s: Series, opts: FeatureOptions): SeriesFeatures {
  const from = Math.min(indexAtTime(s.t.subarray(0, s.n), opts.warmupSec), Math.max(0, s.n - T.minSamples));
  const n = s.n - from;
  let sl = slice(windowView(s, from), T.maxSlices, opts.scratch);
  const k = sl.k;
  const min = n > 0 ? minOf(s, from) : 0;
  const max = n > 0 ? maxOf(s, from) : 0;
  const warmMin = from > 0 ? minOf(s, 0, from) : min;
  const warmupGrowth = Math.max(0, min - warmMin);
  let level = 0;
  for (let j = 0; j < k; j++) if (sl.floor[j] > level) level = sl.floor[j];
  const sampErr = samplingError(Math.max(level, 0), opts.sampleBytes);
  const minGrowth = Math.max(
    opts.minGrowthBytes ?? T.minGrowthBytes,
    T.samplingZ * sampErr,
    T.samplingMinSamples * opts.sampleBytes,
  );
  const t0 = n > 0 ? s.t[from] : 0;
  const t1 = n > 0 ? s.t[s.n - 1] : 0;
  const retainedGrowth = k ? sl.retained[k - 1] - sl.retained[0] : 0;
  const f: SeriesFeatures = {
    n,
    t0,
    t1,
    duration: t1 - t0,
    warmupSec: opts.warmupSec,
    warmupGrowth,
    first: n > 0 ? s.x[from] : 0,
    last: n > 0 ? s.x[s.n - 1] : 0,
    min,
    max,
    negligible: Math.max(max, from > 0 ? maxOf(s, 0, from) : max) - Math.min(min, warmMin) < minGrowth,
    slices: sl,
    slope: 0,
    trendZ: 0,
    jitter: 0,
    samplingError: sampErr,
    tolerance: Math.max(T.toleranceBytes, T.samplingZ * sampErr),
    minGrowth,
    retainedGrowth,
    netGrowth: k ? sl.floor[k - 1] - sl.floor[0] : 0,
    grew: 0,
    intervals: Math.max(0, k - 1),
    growingSec: 0,
    plateau: { start: 0, seconds: 0, creep: 0, longestPauseSec: 0 },
    plateauSlope: 0,
    hinge: null,
    hingeTailSlope: 0,
    firstHalfGrowth: 0,
    secondHalfGrowth: 0,
    endStart: k,
    earlyGrowth: 0,
    lateGrowth: 0,
    earlyTrendZ: 0,
    lateSurge: false,
    cycles: null,
    riseStep: 0,
  };
  if (opts.scratch) f.slices = sl = f.negligible ? NO_SLICES : copySlices(sl);
  if (f.negligible || k < 2) return f;

  f.slope = theilSen(sl.tMid, sl.floor, k);
  f.trendZ = mannKendallZ(sl.floor, k);
  f.jitter = jitter(s, from);
  f.tolerance = Math.max(f.tolerance, T.noiseMultiple * f.jitter);
  f.riseStep = typicalRise(s, from);
  const eps = Math.max(1, (T.grewShare * Math.max(0, retainedGrowth)) / (k - 1));
  let grew = 0;
  let firstRise = -1;
  for (let j = 1; j < k; j++) {
    if (sl.retained[j] - sl.retained[j - 1] > eps) {
      grew++;
      if (firstRise < 0) firstRise = j;
    }
  }
  f.grew = grew;
  f.growingSec = firstRise < 0 ? 0 : t1 - sl.tEnd[firstRise - 1];
  f.plateau = finalPlateau(sl, Math.max(f.tolerance, T.plateauNoiseMultiple * f.jitter));
  const ps = f.plateau.start;
  if (k - ps >= 3) f.plateauSlope = theilSen(sl.tMid.subarray(ps), sl.floor.subarray(ps), k - ps);
  f.hinge = bestHinge(sl.tMid, sl.floor, k, T.plateauFraction * f.duration);
  if (f.hinge) {
    const b = sliceAtTime(sl, f.hinge.tBreak);
    if (k - b >= 3) f.hingeTailSlope = theilSen(sl.tMid.subarray(b), sl.floor.subarray(b), k - b);
  }
  const half = k >> 1;
  f.firstHalfGrowth = sl.retained[half] - sl.retained[0];
  f.secondHalfGrowth = sl.retained[k - 1] - sl.retained[half];
  const endStart = Math.max(1, Math.min(k - 1, sliceAtTime(sl, t1 - T.endFraction * f.duration)));
  f.endStart = endStart;
  f.earlyGrowth = sl.retained[endStart - 1] - sl.retained[0];
  f.lateGrowth = sl.retained[k - 1] - sl.retained[endStart - 1];
  f.earlyTrendZ = mannKendallZ(sl.floor, endStart);
  let ceilBefore = -Infinity;
  for (let j = 0; j < endStart; j++) if (sl.ceil[j] > ceilBefore) ceilBefore = sl.ceil[j];
  f.lateSurge = sl.retained[k - 1] - ceilBefore > f.tolerance;
  const dropThreshold = Math.max(T.dropFraction * (max - min), minGrowth, T.noiseMultiple * f.jitter);
  const cycles = findCycles(s, dropThreshold, from);
  f.cycles = cycles.drops > 0 ? cycles : null;
  return f;
}

/** The window [from, n) of s as its own Series (no copy). */
function windowView(s: Series, from: number): Series {
  return { t: s.t.subarray(from, s.n), x: s.x.subarray(from, s.n), n: s.n - from };
}
