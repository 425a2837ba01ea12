// How noisy a series is, from its successive differences: a steady rise, steps and
// flushes hardly move the median absolute deviation of the differences, while
// sample-to-sample jitter (churn, sampling error) does.
import type { Series } from "./series.js";
import { median } from "./slope.js";
import { THRESHOLDS } from "../thresholds.js";

/** Robust standard deviation of the jitter around the series' local level (bytes). */
export function jitter(s: Series, from = 0, to = s.n, maxDiffs: number = THRESHOLDS.noiseMaxDiffs): number {
  const count = to - from - 1;
  if (count < 2) return 0;
  const m = Math.min(count, maxDiffs);
  const d = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const i = from + 1 + Math.floor((k * count) / m);
    d[k] = s.x[i] - s.x[i - 1];
  }
  const center = median(d.slice());
  for (let k = 0; k < m; k++) d[k] = Math.abs(d[k] - center);
  // MAD → σ for a normal distribution; differences of iid noise have √2 times its σ.
  return (1.4826 * median(d)) / Math.SQRT2;
}

/** Typical rise per sample: the median of the positive differences (0 when none). */
export function typicalRise(s: Series, from = 0, to = s.n, maxDiffs: number = THRESHOLDS.noiseMaxDiffs): number {
  const count = to - from - 1;
  if (count < 1) return 0;
  const m = Math.min(count, maxDiffs);
  const d = new Float64Array(m);
  let k = 0;
  for (let j = 0; j < m; j++) {
    const i = from + 1 + Math.floor((j * count) / m);
    const v = s.x[i] - s.x[i - 1];
    if (v > 0) d[k++] = v;
  }
  return k ? median(d, k) : 0;
}

/** Estimate error of a sampling collector for a site holding `bytes` live. */
export function samplingError(bytes: number, sampleBytes: number): number {
  return sampleBytes > 0 && bytes > 0 ? Math.sqrt(bytes * sampleBytes) : 0;
}
