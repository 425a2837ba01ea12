// Too little data: a handful of samples cannot tell growth from start-up noise.
import { formatSec } from "../format.js";
import { THRESHOLDS } from "../thresholds.js";
import type { SeriesFeatures } from "../stats/features.js";
import { PASS, stop, type SeriesRule } from "./rule.js";

export const tooLittleData: SeriesRule = {
  name: "too-little-data",
  judge(f) {
    // The window excludes the warm-up, so allow it to be that much shorter than the run minimum.
    const minWindow = THRESHOLDS.minDurationSec * (1 - THRESHOLDS.warmupFraction);
    if (f.n >= THRESHOLDS.minSamples && f.duration >= minWindow) return PASS;
    // The evidence a verdict needs scales with the growth: a rise in every interval, each far above
    // the noise, needs no fixed duration (a short batch program growing hundreds of MiB at a line).
    if (f.n >= THRESHOLDS.minSamples && steadyAndLarge(f)) return PASS;
    return stop(tooLittleDataReason(f.n, f.duration));
  },
};

/** Whether an inconclusive reason is this rule's (too few samples or too short a run). */
export function isTooLittleData(reason: string): boolean {
  return /^only \d+ samples? over /.test(reason);
}

/**
 * The reason when the target failed (exited with a non-zero status, or was killed) before its run was
 * long enough to judge: more time would not help, the failure must be fixed first.
 */
export function failedTooSoonReason(samples: number, seconds: number, exitCode: number | null, signal: string | null): string {
  const how = signal ? `was ended by ${signal}` : `exited with status ${exitCode}`;
  return (
    `the target ${how} after ${formatSec(seconds)}, before growth could be judged ` +
    `(${samples} sample${samples === 1 ? "" : "s"}); see its output for why it stopped`
  );
}

export function tooLittleDataReason(samples: number, seconds: number): string {
  return (
    `only ${samples} sample${samples === 1 ? "" : "s"} over ${formatSec(seconds)}; run the program for at least ` +
    `${THRESHOLDS.minDurationSec} s (a minute is better) so growth can be told from start-up`
  );
}

/** Rose in every interval but at most one, by many times the noise and the least growth that counts. */
export function steadyAndLarge(f: SeriesFeatures): boolean {
  return (
    !f.negligible &&
    f.intervals >= THRESHOLDS.minSamples - 1 &&
    f.grew >= f.intervals - 1 &&
    f.retainedGrowth >= THRESHOLDS.steadyGrowthMultiple * Math.max(f.tolerance, f.minGrowth)
  );
}
