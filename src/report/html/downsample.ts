// Downsampling for charts that stays honest: every kept point is a real sample,
// and within each time bucket the minimum and maximum of every series are kept,
// so peaks and dips survive (an M4-style reduction without the first/last pair).

/**
 * Indices of the samples to keep so that at most about `maxPoints` remain.
 * `columns` are the value series (same length as the time axis); NaN/null are skipped.
 */
export function minMaxIndices(length: number, columns: ArrayLike<number | null>[], maxPoints: number): number[] {
  if (length <= maxPoints || length <= 2) return Array.from({ length }, (_, i) => i);
  const perBucket = Math.max(1, columns.length) * 2;
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / perBucket));
  const keep = new Set<number>([0, length - 1]);
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * length) / buckets);
    const to = Math.floor(((b + 1) * length) / buckets);
    if (to <= from) continue;
    for (const col of columns) {
      let minI = -1;
      let maxI = -1;
      for (let i = from; i < to; i++) {
        const v = col[i];
        if (v === null || v === undefined || !Number.isFinite(v)) continue;
        if (minI < 0 || v < (col[minI] as number)) minI = i;
        if (maxI < 0 || v > (col[maxI] as number)) maxI = i;
      }
      if (minI >= 0) keep.add(minI);
      if (maxI >= 0) keep.add(maxI);
    }
    if (columns.length === 0) keep.add(from);
  }
  return [...keep].sort((a, b) => a - b);
}

/** Picks `indices` out of each column. */
export function pick<T>(column: ArrayLike<T>, indices: number[]): T[] {
  const out = new Array<T>(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = column[indices[i]];
  return out;
}
