// The ordered verdict rules for one memory series (an allocation stack, the "other"
// bucket, RSS). Earlier rules explain growth away; later ones call what remains.
import { churn } from "./churn.js";
import { growthAtEnd } from "./growth-at-end.js";
import { plateau } from "./plateau.js";
import type { SeriesRule } from "./rule.js";
import { sawtooth } from "./sawtooth.js";
import { sustainedGrowth } from "./sustained-growth.js";
import { tooLittleData } from "./too-little-data.js";
import { warmUp } from "./warm-up.js";

export const SERIES_RULES: readonly SeriesRule[] = Object.freeze([
  tooLittleData,
  warmUp,
  plateau,
  sawtooth,
  churn,
  growthAtEnd,
  sustainedGrowth,
]);

export { nativeGrowth } from "./native-growth.js";
export type { RuleResult, RuleVerdict, SeriesRule } from "./rule.js";
