// Runs the ordered rules over one series: the first definite answer wins; when no
// rule is sure, the first rule that explained its doubt speaks for the series.
import type { SeriesFeatures } from "./stats/features.js";
import { SERIES_RULES } from "./rules/index.js";
import type { RuleVerdict, SeriesRule } from "./rules/rule.js";

export interface Judgement {
  verdict: RuleVerdict;
  /** Name of the rule that decided (or doubted). */
  rule: string;
  reason: string;
  confidence: number;
}

export function judgeSeries(f: SeriesFeatures, rules: readonly SeriesRule[] = SERIES_RULES): Judgement {
  let doubt: Judgement | null = null;
  for (const rule of rules) {
    const r = rule.judge(f);
    if (r.verdict !== "unknown") return { verdict: r.verdict, rule: rule.name, reason: r.reason, confidence: r.confidence };
    if (r.reason && !doubt) doubt = { verdict: "unknown", rule: rule.name, reason: r.reason, confidence: 0.2 };
    if (r.stop) break;
  }
  // No rule found anything to say: nothing grew in a way that looks like a leak.
  return doubt ?? { verdict: "not-leak", rule: "none", reason: "no sustained growth", confidence: 0.5 };
}
