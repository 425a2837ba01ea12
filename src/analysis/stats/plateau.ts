// Where growth stopped: the final stretch over which the retained floor stays within
// a tolerance, and the longest such pause before it. A cache that fills and stops has
// a long final plateau and no earlier pauses; a step-wise leak pauses between steps,
// and its final "plateau" is no longer than those pauses.
import type { Slices } from "./slices.js";

export interface Plateau {
  /** First slice of the final flat stretch. */
  start: number;
  /** Seconds from the start of that slice to the end of the window. */
  seconds: number;
  /** Retained growth during the flat stretch (≤ tolerance). */
  creep: number;
  /** Longest flat stretch before it, in seconds (0 when growth never paused). */
  longestPauseSec: number;
}

export function finalPlateau(sl: Slices, tolerance: number): Plateau {
  const k = sl.k;
  if (k === 0) return { start: 0, seconds: 0, creep: 0, longestPauseSec: 0 };
  const r = sl.retained;
  const last = r[k - 1];
  let start = k - 1;
  while (start > 0 && last - r[start - 1] <= tolerance) start--;
  const end = sl.tEnd[k - 1];
  // Longest run of slices [i, j] before `start` with r[j] - r[i] <= tolerance (two pointers; r is monotone).
  let longest = 0;
  let i = 0;
  for (let j = 0; j < start; j++) {
    while (r[j] - r[i] > tolerance) i++;
    const span = sl.tEnd[j] - sl.tStart[i];
    if (j > i && span > longest) longest = span;
  }
  return { start, seconds: end - sl.tStart[start], creep: last - r[start], longestPauseSec: longest };
}
