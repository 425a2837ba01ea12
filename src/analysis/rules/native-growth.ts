// Native growth: RSS keeps growing (judged by the same series rules, so warm-up,
// fragmentation plateaus and sawtooths are excused) while the Python heap and the
// collector's own memory do not explain it. RSS that tracks the heap (pymalloc
// arenas, malloc headers) is not native.
import type { SeriesFeatures } from "../stats/features.js";
import { formatBytes, formatRate, formatSec } from "../format.js";
import { THRESHOLDS } from "../thresholds.js";
import { leak, notLeak, PASS, type RuleResult } from "./rule.js";

export interface NativeInput {
  rss: SeriesFeatures;
  /** What the series rules said about RSS. */
  rssVerdict: RuleResult;
  /**
   * Growth of the Python heap and of the collector's own memory over the same window,
   * bytes: the larger of the robust trend and the rise of the high-water mark, since
   * freed Python memory is often not returned to the system (a burst leaves RSS high).
   */
  heapGrowth: number;
  overheadGrowth: number;
  /** RSS the collector costs per live object that its overhead figure leaves out, times the growth in live objects. */
  collectorGrowth: number;
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
    const seconds = Math.max(rss.duration, 1e-9);
    // The trend overstates a single step and the retained floor overstates a noisy end; take the lesser.
    const rssGrowth = Math.max(0, Math.min(rss.slope * seconds, rss.retainedGrowth));
    const python = Math.max(0, input.heapGrowth) + Math.max(0, input.overheadGrowth);
    const unexplainedBytes = Math.max(0, rssGrowth - python);
    const numbers = { unexplainedRate: Math.max(0, rss.slope - python / seconds), unexplainedBytes };
    if (rssVerdict.verdict !== "leak") return { ...PASS, ...numbers };
    const beyondArenas = rssGrowth - THRESHOLDS.heapToRss * python - Math.max(0, input.collectorGrowth);
    if (beyondArenas >= THRESHOLDS.nativeMinBytes && beyondArenas >= THRESHOLDS.nativeMinShare * rssGrowth) {
      return {
        ...leak(
          `RSS grew in ${rss.grew} of ${rss.intervals} intervals, ${formatRate(rss.slope)}, while the ` +
            `Python heap grew ${formatRate(python / seconds)}: ${formatBytes(unexplainedBytes)} between ` +
            `${formatSec(rss.t0)} and ${formatSec(rss.t1)} is not Python objects`,
          Math.min(rssVerdict.confidence, 0.5 + 0.4 * (beyondArenas / Math.max(rssGrowth, 1))),
        ),
        ...numbers,
      };
    }
    return {
      ...notLeak(
        `RSS growth (${formatRate(rss.slope)}) is explained by the Python heap (${formatRate(python / seconds)})`,
        0.7,
      ),
      ...numbers,
    };
  },
};
