// Plateau / bounded growth: growth that stops (a cache reaching its size, a deque at
// its maxlen, a table built lazily) is not a leak, provided the flat end outlasts any
// pause seen while it was growing (a step-wise leak pauses between steps too).
import { formatBytes, formatSec } from "../format.js";
import type { SeriesFeatures } from "../stats/features.js";
import { THRESHOLDS } from "../thresholds.js";
import { PASS, notLeak, unsure, type SeriesRule } from "./rule.js";

const T = THRESHOLDS;

export interface Stop {
  /** Retained growth before the plateau, and when the plateau began (seconds since start). */
  growth: number;
  since: number;
  seconds: number;
}

/**
 * The growth stopped: a final flat stretch long enough to trust, longer than any pause
 * while growing, after real growth, and with the plateau's own creep (retained rise and
 * trend of its floors) far slower than the growth before it. Null when it did not.
 */
export function stopped(f: SeriesFeatures): Stop | null {
  const p = f.plateau;
  const sl = f.slices;
  if (p.start === 0) return null;
  const growth = sl.retained[p.start] - sl.retained[0];
  const growingSec = Math.max(sl.tStart[p.start] - f.t0, 1e-9);
  const creepRate = Math.max(p.creep / p.seconds, f.plateauSlope);
  const ok =
    p.seconds >= T.plateauMinSec &&
    p.seconds > T.plateauPauseFactor * p.longestPauseSec &&
    // The growth before must stand out from the noise, and dwarf whatever crept in after.
    growth >= Math.max(f.minGrowth, f.tolerance) &&
    p.creep <= 0.5 * growth &&
    growth / growingSec >= T.plateauContrast * creepRate;
  if (ok) return { growth, since: sl.tStart[p.start], seconds: p.seconds };
  // Through noise: the floors fit "rise, then flat" much better than a line, and the flat part does not creep.
  const h = f.hinge;
  if (
    h &&
    h.sse <= T.hingeFitRatio * h.sseLine &&
    h.growth >= Math.max(f.minGrowth, f.tolerance) &&
    f.hingeTailSlope * T.plateauContrast <= h.slope
  ) {
    return { growth: h.growth, since: h.tBreak, seconds: f.t1 - h.tBreak };
  }
  return null;
}

export const plateau: SeriesRule = {
  name: "plateau",
  judge(f) {
    if (f.negligible || f.retainedGrowth < f.minGrowth) return PASS;
    const stop = stopped(f);
    if (!stop) return PASS;
    if (stop.seconds >= T.plateauFraction * f.duration) {
      return notLeak(
        `grew by ${formatBytes(stop.growth)} until ${formatSec(stop.since)}, then stayed flat for ` +
          `${formatSec(stop.seconds)} (bounded growth, like a cache or table filling up)`,
        0.55 + 0.4 * Math.min(1, stop.seconds / f.duration),
      );
    }
    if (stop.seconds >= T.plateauBriefFraction * f.duration) {
      return unsure(
        `grew by ${formatBytes(stop.growth)} until ${formatSec(stop.since)}, then was flat for only the last ` +
          `${formatSec(stop.seconds)}; run longer to tell a bounded cache from a leak`,
      );
    }
    return PASS;
  },
};

/** True when the growth has visibly stopped at the end (sustained growth must not have). */
export function stoppedAtEnd(f: SeriesFeatures): boolean {
  const stop = stopped(f);
  return stop !== null && stop.seconds >= T.plateauBriefFraction * f.duration;
}
