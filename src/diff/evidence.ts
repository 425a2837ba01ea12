// When may the after-run say a leak is gone? Only when it could have seen it: its
// window after the warm-up is long enough that the before-rate would have grown well
// past the least growth the rules call a leak, and holds enough intervals for the
// trend test (src/analysis/stats/slope.ts: Mann–Kendall over the slice floors) to
// reach its threshold on a steady rise.
import { THRESHOLDS } from "../analysis/thresholds.js";
import { indexAtTime } from "../analysis/stats/series.js";
import type { StackAnalysis, Timeline } from "../analysis/stacks.js";
import { formatBytes, formatSec } from "../report/units.js";

/** The before-rate must have grown this many times the least growth called a leak. */
const GROWTH_MARGIN = 2;
/**
 * Intervals between slice floors the after-window must hold: seven strictly rising
 * floors give a Mann–Kendall z of about 3.0, above trendZ (2.5) with some margin for noise.
 */
const MIN_INTERVALS = 6;
/** An after-rate above this share of the before-rate is not "gone", whatever the rules said. */
const RATE_SHARE = 0.25;

export interface Power {
  ok: boolean;
  /** Why the after-run could, or could not, have seen the before-rate. */
  text: string;
  windowSec: number;
}

/**
 * `leastLeak`: the least growth the analysis calls a leak of this kind (THRESHOLDS.minGrowthBytes
 * for a Python site, nativeMinBytes for native growth); a matched stack's own may be larger.
 */
export function afterRunPower(tl: Timeline, beforeRate: number, matched: readonly StackAnalysis[], leastLeak: number): Power {
  const windowSec = Math.max(0, tl.durationSec - tl.warmupSec);
  if (tl.tooShort) return { ok: false, windowSec, text: `the after-run is too short to judge (${tl.times.length} samples over ${formatSec(tl.durationSec)})` };
  const slices = Math.min(THRESHOLDS.maxSlices, tl.times.length - indexAtTime(tl.times, tl.warmupSec));
  const intervals = Math.max(0, slices - 1);
  if (intervals < MIN_INTERVALS) {
    return { ok: false, windowSec, text: `the after-run's window holds ${intervals} intervals, too few for the trend test (${MIN_INTERVALS} needed)` };
  }
  const minGrowth = Math.max(leastLeak, ...matched.map((s) => s.features.minGrowth));
  const expected = beforeRate * windowSec;
  if (expected < GROWTH_MARGIN * minGrowth) {
    return {
      ok: false,
      windowSec,
      text: `at the before-rate the after-run's ${formatSec(windowSec)} window would have grown only ${formatBytes(expected)}, too little to tell from noise (${formatBytes(GROWTH_MARGIN * minGrowth)} needed); run it longer`,
    };
  }
  return { ok: true, windowSec, text: `at the before-rate the after-run's ${formatSec(windowSec)} window would have grown ${formatBytes(expected)}` };
}

/** The rate of the matched stacks in the after-run is small beside the before-rate. */
export function rateGone(afterRate: number, beforeRate: number): boolean {
  return afterRate <= RATE_SHARE * beforeRate;
}
