// Growth only at the very end: it could be a leak starting or a cache starting to
// fill; the run has not shown which. Say so, and say what would tell.
import { formatBytes, formatSec } from "../format.js";
import { THRESHOLDS } from "../thresholds.js";
import { PASS, unsure, type SeriesRule } from "./rule.js";

export const growthAtEnd: SeriesRule = {
  name: "growth-at-end",
  judge(f) {
    if (f.negligible || f.lateGrowth < f.minGrowth) return PASS;
    // Flat before: little growth beside the late growth, or growth within the noise and no trend.
    const flatBefore =
      f.earlyGrowth <= THRESHOLDS.endEarlyShare * f.lateGrowth ||
      (f.earlyGrowth <= f.tolerance && f.earlyTrendZ < THRESHOLDS.trendZ);
    if (!flatBefore) return PASS;
    const endSec = f.t1 - f.slices.tStart[f.endStart];
    return unsure(
      `grew by ${formatBytes(f.lateGrowth)} only in the last ${formatSec(endSec)} and was flat before; ` +
        `run longer to tell a leak from a cache filling up`,
    );
  },
};
