// Envelopes of a series. The lower envelope (suffix minimum) at i is the least the
// series holds from i to the end: memory that is still there at every later
// sample. Its rise is retained growth; churn and sawtooth teeth do not lift it.

/** out[i] = min(x[i..n-1]). */
export function lowerEnvelope(x: ArrayLike<number>, n = x.length, out: Float64Array = new Float64Array(n)): Float64Array {
  let m = Infinity;
  for (let i = n - 1; i >= 0; i--) {
    if (x[i] < m) m = x[i];
    out[i] = m;
  }
  return out;
}

/** out[i] = max(x[0..i]): the highest the series has been so far. */
export function upperEnvelope(x: ArrayLike<number>, n = x.length, out: Float64Array = new Float64Array(n)): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < n; i++) {
    if (x[i] > m) m = x[i];
    out[i] = m;
  }
  return out;
}
