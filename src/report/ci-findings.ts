// The generic finding that the CI outputs (SARIF, GitHub annotations) take: a
// rule, a level, a message and a place in a file. `leakhound lint` and the CI
// outputs of `leakhound run` both build these, so both share one SARIF writer
// (sarif.ts) and one annotation writer (github.ts).
export type CiLevel = "error" | "warning" | "note";

export interface CiRule {
  /** Stable id, e.g. "unbounded-cache". */
  id: string;
  /** A few words: "Unbounded cache". */
  title: string;
  /** One or two sentences: what the rule finds and why it matters. */
  help: string;
}

export interface CiFinding {
  ruleId: string;
  level: CiLevel;
  /** One sentence or two; may include the fix. */
  message: string;
  /** Path as the user should see it (relative to the working directory when inside it). */
  file: string;
  /** 1-based; absent for a finding about the whole file. */
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
}

export interface CiTool {
  name: string;
  version: string;
  informationUri?: string;
}
