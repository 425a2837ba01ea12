// Growth spread over allocation stacks too small to be tracked one by one (the
// agent's "other" bucket): the series rules judge it like one stack, with a higher
// bar (the bucket also moves when stacks start being tracked) and less confidence
// (no single line to show for it).
import type { SeriesFeatures } from "../stats/features.js";
import { judgeSeries } from "../judge.js";
import { THRESHOLDS } from "../thresholds.js";
import { leak, PASS, unsure, type RuleResult } from "./rule.js";

/** How much less sure a leak spread over many small stacks is than one stack's. */
const SPREAD_CONFIDENCE = 0.8;

export const spreadGrowth = {
  name: "spread-growth",
  /** The least growth of the bucket worth judging (features must be described with it). */
  minGrowthBytes: THRESHOLDS.otherMinGrowthBytes,
  judge(f: SeriesFeatures): RuleResult {
    const j = judgeSeries(f);
    if (j.verdict === "leak") {
      return leak(`${j.reason}, spread over allocation stacks too small to track one by one`, j.confidence * SPREAD_CONFIDENCE);
    }
    if (j.verdict === "unknown" && f.retainedGrowth >= THRESHOLDS.inconclusiveMinBytes) {
      return unsure(`small allocation stacks together ${j.reason}`);
    }
    return PASS;
  },
};
