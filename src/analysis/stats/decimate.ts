// Chart series: at most `max` points, keeping each bucket's lowest and highest point
// (in time order) so sawtooth teeth and spikes survive the thinning.

export function decimate(
  t: ArrayLike<number>,
  x: ArrayLike<number>,
  n: number,
  max: number,
): [number, number][] {
  const out: [number, number][] = [];
  if (n <= max) {
    for (let i = 0; i < n; i++) out.push([t[i], x[i]]);
    return out;
  }
  const buckets = Math.max(1, Math.floor(max / 2));
  for (let b = 0; b < buckets; b++) {
    const a = Math.floor((b * n) / buckets);
    const e = Math.floor(((b + 1) * n) / buckets);
    let lo = a;
    let hi = a;
    for (let i = a + 1; i < e; i++) {
      if (x[i] < x[lo]) lo = i;
      if (x[i] > x[hi]) hi = i;
    }
    const first = Math.min(lo, hi);
    const second = Math.max(lo, hi);
    out.push([t[first], x[first]]);
    if (second !== first) out.push([t[second], x[second]]);
  }
  return out;
}

/** Rows [t, a, b] for several aligned columns, thinned by stride (for process charts). */
export function thinRows(t: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, max: number): [number, number, number][] {
  const n = t.length;
  const out: [number, number, number][] = [];
  if (n === 0) return out;
  const step = Math.max(1, Math.ceil(n / max));
  for (let i = 0; i < n; i += step) out.push([t[i], a[i], b[i]]);
  if ((n - 1) % step !== 0) out.push([t[n - 1], a[n - 1], b[n - 1]]);
  return out;
}
