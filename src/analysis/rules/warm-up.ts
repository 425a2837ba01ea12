// Warm-up: memory taken while the program starts (imports, first requests filling
// caches) and then kept at a steady level is not a leak.
import { formatBytes, formatSec } from "../format.js";
import { PASS, notLeak, type SeriesRule } from "./rule.js";

export const warmUp: SeriesRule = {
  name: "warm-up",
  judge(f) {
    if (f.negligible || f.warmupGrowth < f.minGrowth) return PASS;
    if (f.retainedGrowth >= f.minGrowth || f.lateSurge || f.cycles) return PASS;
    // "Held steady": after warm-up it moves much less than it grew.
    if (f.max - f.min > Math.max(f.minGrowth, f.tolerance, 0.5 * f.warmupGrowth)) return PASS;
    return notLeak(
      `grew by ${formatBytes(f.warmupGrowth)} during warm-up (the first ${formatSec(f.warmupSec)}), ` +
        `then held steady for ${formatSec(f.duration)}`,
      0.6 + 0.3 * Math.min(1, f.duration / 30),
    );
  },
};
