// Plateau / bounded growth: growth that stops (a cache reaching its size, a deque at
// its maxlen, a table built lazily) is not a leak, provided the flat end outlasts any
// pause seen while it was growing (a step-wise leak pauses between steps too).
import { formatBytes, formatSec } from "../format.js";
import { THRESHOLDS } from "../thresholds.js";
import { PASS, notLeak, unsure, type SeriesRule } from "./rule.js";

const T = THRESHOLDS;

export const plateau: SeriesRule = {
  name: "plateau",
  judge(f) {
    if (f.negligible || f.retainedGrowth < f.minGrowth) return PASS;
    const p = f.plateau;
    const sl = f.slices;
    if (p.start === 0) return PASS;
    const growth = sl.retained[p.start] - sl.retained[0];
    const growingSec = Math.max(sl.tStart[p.start] - f.t0, 1e-9);
    const rateBefore = growth / growingSec;
    // Creep during the plateau, both as retained growth and as the trend of its floors.
    const creepRate = Math.max(p.creep / p.seconds, f.plateauSlope);
    const stopped =
      p.seconds >= T.plateauMinSec &&
      p.seconds > T.plateauPauseFactor * p.longestPauseSec &&
      growth >= f.minGrowth &&
      rateBefore >= T.plateauContrast * creepRate;
    if (!stopped) return PASS;
    const until = sl.tStart[p.start];
    if (p.seconds >= T.plateauFraction * f.duration) {
      return notLeak(
        `grew by ${formatBytes(growth)} until ${formatSec(until)}, then stayed flat for ` +
          `${formatSec(p.seconds)} (bounded growth, like a cache or table filling up)`,
        0.55 + 0.4 * Math.min(1, p.seconds / f.duration),
      );
    }
    if (p.seconds >= T.plateauBriefFraction * f.duration) {
      return unsure(
        `grew by ${formatBytes(growth)} until ${formatSec(until)}, then was flat for only the last ` +
          `${formatSec(p.seconds)}; run longer to tell a bounded cache from a leak`,
      );
    }
    return PASS;
  },
};

/** True when the series' growth has visibly stopped at the end (used by sustained-growth). */
export function stoppedAtEnd(f: Parameters<SeriesRule["judge"]>[0]): boolean {
  const p = f.plateau;
  return (
    p.start > 0 &&
    p.seconds >= Math.max(T.plateauMinSec, T.plateauBriefFraction * f.duration) &&
    p.seconds > T.plateauPauseFactor * p.longestPauseSec
  );
}
