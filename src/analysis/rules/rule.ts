// The shape of a verdict rule: given what is known about one memory series, say
// "leak", "not-leak" or "unknown", with one sentence a user can check against the
// chart. Rules run in order and the first definite answer wins (see judge.ts).
import type { SeriesFeatures } from "../stats/features.js";

export type RuleVerdict = "leak" | "not-leak" | "unknown";

export interface RuleResult {
  verdict: RuleVerdict;
  /** One sentence; empty when an "unknown" rule simply does not apply. */
  reason: string;
  /** 0..1, how sure the rule is of its verdict. */
  confidence: number;
  /** "unknown", and no later rule can know better (too little data). */
  stop?: boolean;
}

export interface SeriesRule {
  name: string;
  judge(f: SeriesFeatures): RuleResult;
}

export const PASS: RuleResult = Object.freeze({ verdict: "unknown", reason: "", confidence: 0 });

export function leak(reason: string, confidence: number): RuleResult {
  return { verdict: "leak", reason, confidence: clamp01(confidence) };
}

export function notLeak(reason: string, confidence: number): RuleResult {
  return { verdict: "not-leak", reason, confidence: clamp01(confidence) };
}

export function unsure(reason: string): RuleResult {
  return { verdict: "unknown", reason, confidence: 0 };
}

/** Unknown, and final: later rules are not asked. */
export function stop(reason: string): RuleResult {
  return { verdict: "unknown", reason, confidence: 0, stop: true };
}

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 0.99 ? 0.99 : v;
}
