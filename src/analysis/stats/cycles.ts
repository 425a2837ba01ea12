// Rise-and-fall cycles (batch buffers flushed, caches cleared): drops of at least
// `threshold` bytes split the series into cycles; each cycle has a trough (its least
// value) and a peak. The last cycle is usually unfinished.
import type { Series } from "./series.js";

export interface Cycles {
  /** Number of drops (= completed cycles). */
  drops: number;
  /** Trough of each cycle, the unfinished last one included: time and bytes. */
  troughT: Float64Array;
  troughX: Float64Array;
  /** Peak of each cycle. */
  peakX: Float64Array;
  /** Mean seconds between drops (0 with fewer than two drops). */
  periodSec: number;
}

export function findCycles(s: Series, threshold: number, from = 0, to = s.n): Cycles {
  // Pass 1: drop ends (a drop is a run of consecutive decreases summing to ≥ threshold).
  const ends: number[] = [];
  const dropT: number[] = [];
  let run = 0;
  for (let i = from + 1; i < to; i++) {
    const d = s.x[i - 1] - s.x[i];
    if (d > 0) {
      run += d;
    } else {
      if (run >= threshold) {
        ends.push(i - 1);
        dropT.push(s.t[i - 1]);
      }
      run = 0;
    }
  }
  if (run >= threshold) {
    ends.push(to - 1);
    dropT.push(s.t[to - 1]);
  }
  // Pass 2: troughs and peaks per cycle; cycle c spans [bound[c], bound[c+1]).
  const cyclesCount = ends.length + 1;
  const troughT = new Float64Array(cyclesCount);
  const troughX = new Float64Array(cyclesCount);
  const peakX = new Float64Array(cyclesCount);
  let a = from;
  for (let c = 0; c < cyclesCount; c++) {
    // A cycle ends at the top of its drop; the drop's bottom starts the next cycle.
    const b = c < ends.length ? dropStart(s, ends[c], a) + 1 : to;
    let lo = Infinity;
    let loT = s.t[a];
    let hi = -Infinity;
    for (let i = a; i < b; i++) {
      if (s.x[i] < lo) {
        lo = s.x[i];
        loT = s.t[i];
      }
      if (s.x[i] > hi) hi = s.x[i];
    }
    troughT[c] = loT;
    troughX[c] = lo === Infinity ? s.x[a] : lo;
    peakX[c] = hi === -Infinity ? s.x[a] : hi;
    a = c < ends.length ? ends[c] : to;
  }
  const periodSec = dropT.length >= 2 ? (dropT[dropT.length - 1] - dropT[0]) / (dropT.length - 1) : 0;
  return { drops: ends.length, troughT, troughX, peakX, periodSec };
}

/** Index where the decreasing run ending at `end` began (its top). */
function dropStart(s: Series, end: number, floor: number): number {
  let i = end;
  while (i > floor && s.x[i - 1] > s.x[i]) i--;
  return i;
}
