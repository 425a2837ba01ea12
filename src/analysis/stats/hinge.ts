// Growth that stops, seen through noise: fit the slice floors with a line, and with
// a hinge (a line up to a break, flat after it), and compare the fits. Where noise
// dips break the retained floor's plateau, the hinge still sees "rose, then flat".

export interface Hinge {
  /** Time of the break, seconds since start. */
  tBreak: number;
  /** Slope before the break, bytes per second. */
  slope: number;
  /** Rise before the break, bytes. */
  growth: number;
  /** Residual sum of squares of the hinge and of a straight line. */
  sse: number;
  sseLine: number;
}

/** Best hinge whose flat part lasts at least `minFlatSec`; null with fewer than 5 points. */
export function bestHinge(t: ArrayLike<number>, x: ArrayLike<number>, n: number, minFlatSec: number): Hinge | null {
  if (n < 5) return null;
  const sseLine = fitSse(t, x, n, Infinity).sse;
  let best: Hinge | null = null;
  const end = t[n - 1];
  for (let b = 1; b < n - 2; b++) {
    const tb = t[b];
    if (end - tb < minFlatSec) break;
    const fit = fitSse(t, x, n, tb);
    if (fit.slope <= 0) continue;
    if (!best || fit.sse < best.sse) {
      best = { tBreak: tb, slope: fit.slope, growth: fit.slope * (tb - t[0]), sse: fit.sse, sseLine };
    }
  }
  return best;
}

/** Least squares of x on min(t, tb): slope and residual sum of squares. */
function fitSse(t: ArrayLike<number>, x: ArrayLike<number>, n: number, tb: number): { slope: number; sse: number } {
  let su = 0;
  let sx = 0;
  for (let i = 0; i < n; i++) {
    su += Math.min(t[i], tb);
    sx += x[i];
  }
  const mu = su / n;
  const mx = sx / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const du = Math.min(t[i], tb) - mu;
    num += du * (x[i] - mx);
    den += du * du;
  }
  const slope = den > 0 ? num / den : 0;
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const r = x[i] - (mx + slope * (Math.min(t[i], tb) - mu));
    sse += r * r;
  }
  return { slope, sse };
}
