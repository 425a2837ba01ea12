// Native growth: RSS keeps growing (judged by the same series rules, so warm-up,
// fragmentation plateaus and sawtooths are excused) while the Python heap and the
// collector's own memory do not explain it. RSS that tracks the heap (pymalloc
// arenas, malloc headers) is not native.
import type { SeriesFeatures } from "../features.js";
import { formatBytes, formatRate, formatSec } from "../format.js";
import { THRESHOLDS } from "../thresholds.js";
import { leak, notLeak, PASS, type RuleResult } from "./rule.js";

export interface NativeInput {
  rss: SeriesFeatures;
  /** What the series rules said about RSS. */
  rssVerdict: RuleResult;
  /** Robust slopes over the same window, bytes per second. */
  heapRate: number;
  overheadRate: number;
}

export interface NativeResult extends RuleResult {
  /** RSS growth per second that Python memory does not explain. */
  unexplainedRate: number;
  /** The same over the window, bytes. */
  unexplainedBytes: number;
}

export const nativeGrowth = {
  name: "native-growth",
  judge(input: NativeInput): NativeResult {
    const { rss, rssVerdict } = input;
    const pythonRate = Math.max(0, input.heapRate + input.overheadRate);
    const unexplainedRate = rss.slope - THRESHOLDS.heapToRss * pythonRate;
    const unexplainedBytes = Math.max(0, (rss.slope - pythonRate) * rss.duration);
    const numbers = { unexplainedRate: Math.max(0, rss.slope - pythonRate), unexplainedBytes };
    if (rssVerdict.verdict !== "leak") return { ...PASS, ...numbers };
    if (
      unexplainedRate * rss.duration >= THRESHOLDS.nativeMinBytes &&
      unexplainedRate >= THRESHOLDS.nativeMinShare * rss.slope
    ) {
      return {
        ...leak(
          `RSS grew in ${rss.grew} of ${rss.intervals} intervals, ${formatRate(rss.slope)}, while the ` +
            `Python heap grew ${formatRate(pythonRate)}: ${formatBytes(unexplainedBytes)} between ` +
            `${formatSec(rss.t0)} and ${formatSec(rss.t1)} is not Python objects`,
          Math.min(rssVerdict.confidence, 0.5 + 0.4 * Math.min(1, unexplainedRate / Math.max(rss.slope, 1))),
        ),
        ...numbers,
      };
    }
    return {
      ...notLeak(
        `RSS growth (${formatRate(rss.slope)}) is explained by the Python heap (${formatRate(pythonRate)})`,
        0.7,
      ),
      ...numbers,
    };
  },
};
