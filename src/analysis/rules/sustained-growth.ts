// Sustained growth: memory that is retained and keeps growing across the whole window,
// steadily or in steps, significantly above its noise, with no plateau at the end.
// Judged per allocation stack, so a small leak is found beside heavy churn elsewhere.
import { formatBytes, formatRate } from "../format.js";
import { THRESHOLDS } from "../thresholds.js";
import { stoppedAtEnd } from "./plateau.js";
import { leak, PASS, unsure, type SeriesRule } from "./rule.js";

const T = THRESHOLDS;

export const sustainedGrowth: SeriesRule = {
  name: "sustained-growth",
  judge(f) {
    const g = f.retainedGrowth;
    if (f.negligible || g < f.minGrowth) return PASS;
    const projected = f.slope * f.duration;
    const trend = f.trendZ >= T.trendZ && projected >= Math.max(f.minGrowth, f.tolerance);
    const spread =
      (f.firstHalfGrowth >= T.spreadShare * g && f.secondHalfGrowth >= T.spreadShare * g) ||
      (f.growingSec >= T.longGrowthSec && f.grew >= T.longGrowthIntervals);
    if (trend && spread && !stoppedAtEnd(f)) {
      const confidence =
        0.5 +
        0.2 * Math.min(1, (f.trendZ - T.trendZ) / 2) +
        0.15 * (f.intervals ? f.grew / f.intervals : 0) +
        0.15 * Math.min(1, f.duration / 60);
      return leak(`grew in ${f.grew} of ${f.intervals} intervals, ${formatRate(f.slope)}, no plateau`, confidence);
    }
    if (g < THRESHOLDS.inconclusiveMinBytes && !trend) return PASS;
    return unsure(
      `grew by ${formatBytes(g)} (${formatRate(f.slope)}) but not steadily (in ${f.grew} of ` +
        `${f.intervals} intervals); run longer to tell a leak from irregular use`,
    );
  },
};
