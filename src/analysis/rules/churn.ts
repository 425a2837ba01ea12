// Churn: memory that is allocated and freed again (requests, temporaries) moves the
// series around a constant level; without retained growth, or with no more than a
// faint tendency to rise (z below doubtZ), it is not a leak, however large the swings.
import { formatBytes, formatSec } from "../format.js";
import { THRESHOLDS } from "../thresholds.js";
import { notLeak, PASS, type SeriesRule } from "./rule.js";

export const churn: SeriesRule = {
  name: "churn",
  judge(f) {
    const swing = f.max - f.min;
    if (f.negligible) {
      return notLeak(`stayed within ${formatBytes(Math.max(0, swing))}`, 0.9);
    }
    const churny = swing >= 4 * f.minGrowth;
    if (f.retainedGrowth < f.minGrowth && !f.lateSurge) {
      return notLeak(
        churny
          ? `churn: swings by ${formatBytes(swing)} but keeps nothing (retained growth ` +
              `${formatBytes(Math.max(0, f.retainedGrowth))} over ${formatSec(f.duration)})`
          : `no retained growth (${formatBytes(Math.max(0, f.retainedGrowth))} over ${formatSec(f.duration)})`,
        0.85,
      );
    }
    const projected = f.slope * f.duration;
    // A rise beyond the noise with a weak but real tendency is left to the later rules (which may doubt it).
    const rising = f.trendZ >= THRESHOLDS.doubtZ && projected >= Math.max(f.minGrowth, f.tolerance);
    if (!rising && !f.lateSurge) {
      return notLeak(
        `${churny ? "churn: swings by " + formatBytes(swing) + " with" : "varies with"} no significant trend ` +
          `(${formatBytes(projected)} over ${formatSec(f.duration)}, within its noise)`,
        0.7,
      );
    }
    return PASS;
  },
};
