// The window cut into equal-count slices. Each slice's floor (its minimum) is the
// level the site never went below during that slice: churn and the teeth of short
// sawtooths do not lift it, and unlike a suffix minimum it has no end effect (every
// slice is judged on the same number of samples).
import type { Series } from "./series.js";
import { lowerEnvelope } from "./envelope.js";
import { THRESHOLDS } from "../thresholds.js";

export interface Slices {
  k: number;
  /** Point index range [start, end) of each slice. */
  start: Int32Array;
  end: Int32Array;
  tStart: Float64Array;
  tEnd: Float64Array;
  tMid: Float64Array;
  floor: Float64Array;
  ceil: Float64Array;
  /** Suffix minimum of the floors: the level retained from slice i to the end. */
  retained: Float64Array;
}

/** Slices of `s`; written into `into` when it has room (a scratch reused across series). */
export function slice(s: Series, maxSlices: number = THRESHOLDS.maxSlices, into?: Slices): Slices {
  const k = Math.max(0, Math.min(maxSlices, s.n));
  const out: Slices = into && into.floor.length >= k ? into : emptySlices(k);
  out.k = k;
  for (let j = 0; j < k; j++) {
    const a = Math.round((j * s.n) / k);
    const b = Math.round(((j + 1) * s.n) / k);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = a; i < b; i++) {
      const v = s.x[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    out.start[j] = a;
    out.end[j] = b;
    out.tStart[j] = s.t[a];
    out.tEnd[j] = s.t[b - 1];
    out.tMid[j] = (s.t[a] + s.t[b - 1]) / 2;
    out.floor[j] = lo;
    out.ceil[j] = hi;
  }
  lowerEnvelope(out.floor, k, out.retained);
  return out;
}

export function emptySlices(capacity: number): Slices {
  return {
    k: 0,
    start: new Int32Array(capacity),
    end: new Int32Array(capacity),
    tStart: new Float64Array(capacity),
    tEnd: new Float64Array(capacity),
    tMid: new Float64Array(capacity),
    floor: new Float64Array(capacity),
    ceil: new Float64Array(capacity),
    retained: new Float64Array(capacity),
  };
}

/** A copy of the first k slices of `sl` that owns its arrays. */
export function copySlices(sl: Slices): Slices {
  const k = sl.k;
  return {
    k,
    start: sl.start.slice(0, k),
    end: sl.end.slice(0, k),
    tStart: sl.tStart.slice(0, k),
    tEnd: sl.tEnd.slice(0, k),
    tMid: sl.tMid.slice(0, k),
    floor: sl.floor.slice(0, k),
    ceil: sl.ceil.slice(0, k),
    retained: sl.retained.slice(0, k),
  };
}

/** How many of the k-1 steps between slices raised the retained floor by more than `eps`. */
export function grewIn(sl: Slices, eps: number): number {
  let grew = 0;
  for (let j = 1; j < sl.k; j++) if (sl.retained[j] - sl.retained[j - 1] > eps) grew++;
  return grew;
}

/** Retained growth between two slice indices. */
export function retainedGrowth(sl: Slices, from = 0, to = sl.k - 1): number {
  if (sl.k === 0) return 0;
  return sl.retained[to] - sl.retained[from];
}

/** First slice whose start time is at or after t (k when none). */
export function sliceAtTime(sl: Slices, t: number): number {
  for (let j = 0; j < sl.k; j++) if (sl.tStart[j] >= t) return j;
  return sl.k;
}
