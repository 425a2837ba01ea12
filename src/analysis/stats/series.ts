// A memory series as the analysis sees it: only the points whose value is known,
// as parallel typed arrays (t seconds, x bytes). Buffers may be longer than n so
// one pair can be reused for thousands of allocation stacks.

export interface Series {
  t: Float64Array;
  x: Float64Array;
  n: number;
}

export function emptySeries(capacity: number): Series {
  return { t: new Float64Array(capacity), x: new Float64Array(capacity), n: 0 };
}

/** Index of the first non-NaN value, or values.length when there is none. */
export function firstKnown(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) return i;
  return values.length;
}

/**
 * Known points of `values` (aligned with `times`) from index `from` on.
 * A stack is reported once it becomes big, so NaN before its first report means
 * "small" and counts as 0; NaN after that means "not reported" and is skipped.
 */
export function knownPoints(
  times: ArrayLike<number>,
  values: ArrayLike<number>,
  from = 0,
  into?: Series,
): Series {
  const len = Math.min(times.length, values.length);
  const out = into && into.t.length >= len - from ? into : emptySeries(Math.max(0, len - from));
  const lead = firstKnown(values);
  let n = 0;
  for (let i = from; i < len; i++) {
    const v = values[i];
    if (i < lead) {
      out.t[n] = times[i];
      out.x[n++] = 0;
    } else if (!Number.isNaN(v)) {
      out.t[n] = times[i];
      out.x[n++] = v;
    }
  }
  out.n = n;
  return out;
}

/** Last known value (NaN when none). */
export function lastKnown(values: ArrayLike<number>): number {
  for (let i = values.length - 1; i >= 0; i--) if (!Number.isNaN(values[i])) return values[i];
  return Number.NaN;
}

/** First index whose time is at least `t` (times ascending). */
export function indexAtTime(times: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function minOf(s: Series, from = 0, to = s.n): number {
  let m = Infinity;
  for (let i = from; i < to; i++) if (s.x[i] < m) m = s.x[i];
  return m;
}

export function maxOf(s: Series, from = 0, to = s.n): number {
  let m = -Infinity;
  for (let i = from; i < to; i++) if (s.x[i] > m) m = s.x[i];
  return m;
}
