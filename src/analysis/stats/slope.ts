// Trend statistics over small point sets (slice floors, troughs): Theil–Sen slope,
// least-squares slope and the Mann–Kendall trend test. Longer inputs are subsampled
// evenly first, since Theil–Sen and Mann–Kendall look at every pair.
import { THRESHOLDS } from "../thresholds.js";

/** Evenly spaced indices into [0, n), at most `max` of them, always including both ends. */
function picks(n: number, max: number): Int32Array {
  const m = Math.min(n, Math.max(2, max));
  const out = new Int32Array(m);
  if (m === 1) return out;
  for (let k = 0; k < m; k++) out[k] = Math.round((k * (n - 1)) / (m - 1));
  return out;
}

function median(values: Float64Array, len = values.length): number {
  if (len === 0) return Number.NaN;
  const a = values.subarray(0, len).sort();
  const mid = len >> 1;
  return len % 2 ? a[mid] : (a[mid - 1] + a[mid]) / 2;
}

/** Median of pairwise slopes (bytes per second); robust to a third of the points being outliers. */
export function theilSen(
  t: ArrayLike<number>,
  x: ArrayLike<number>,
  n = Math.min(t.length, x.length),
  maxPoints: number = THRESHOLDS.slopeMaxPoints,
): number {
  if (n < 2) return 0;
  const idx = picks(n, maxPoints);
  const m = idx.length;
  const slopes = new Float64Array((m * (m - 1)) / 2);
  let k = 0;
  for (let i = 0; i < m; i++) {
    const ti = t[idx[i]];
    const xi = x[idx[i]];
    for (let j = i + 1; j < m; j++) {
      const dt = t[idx[j]] - ti;
      if (dt > 0) slopes[k++] = (x[idx[j]] - xi) / dt;
    }
  }
  return k ? median(slopes, k) : 0;
}

/** Ordinary least-squares slope. */
export function leastSquares(t: ArrayLike<number>, x: ArrayLike<number>, n = Math.min(t.length, x.length)): number {
  if (n < 2) return 0;
  let st = 0;
  let sx = 0;
  for (let i = 0; i < n; i++) {
    st += t[i];
    sx += x[i];
  }
  const mt = st / n;
  const mx = sx / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dt = t[i] - mt;
    num += dt * (x[i] - mx);
    den += dt * dt;
  }
  return den > 0 ? num / den : 0;
}

/**
 * Mann–Kendall z-score (with tie correction and continuity correction): how strongly
 * later values tend to exceed earlier ones, whatever the shape or scale of the rise.
 * Near 0 for noise, large and positive for a monotone rise, steps included.
 */
export function mannKendallZ(x: ArrayLike<number>, n = x.length, maxPoints: number = THRESHOLDS.slopeMaxPoints): number {
  if (n < 3) return 0;
  const idx = picks(n, maxPoints);
  const m = idx.length;
  let s = 0;
  for (let i = 0; i < m; i++) {
    const xi = x[idx[i]];
    for (let j = i + 1; j < m; j++) {
      const d = x[idx[j]] - xi;
      if (d > 0) s++;
      else if (d < 0) s--;
    }
  }
  // Tie groups reduce the variance of S.
  const sorted = new Float64Array(m);
  for (let i = 0; i < m; i++) sorted[i] = x[idx[i]];
  sorted.sort();
  let ties = 0;
  for (let i = 0; i < m; ) {
    let j = i + 1;
    while (j < m && sorted[j] === sorted[i]) j++;
    const g = j - i;
    if (g > 1) ties += g * (g - 1) * (2 * g + 5);
    i = j;
  }
  const variance = (m * (m - 1) * (2 * m + 5) - ties) / 18;
  if (variance <= 0 || s === 0) return 0;
  return (s > 0 ? s - 1 : s + 1) / Math.sqrt(variance);
}

export { median };
