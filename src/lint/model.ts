import type { RuntimeLink } from "./runtime-link.js";

// What `leakhound lint` finds: the shape shared by the Python side's answer,
// the terminal report, the JSON file (schema leakhound/lint@1) and the CI outputs.

export const CONFIDENCES = ["high", "low"] as const;
export type Confidence = (typeof CONFIDENCES)[number];

export interface LintRule {
  id: string;
  title: string;
  help: string;
}

export interface LintFinding {
  rule: string;
  /** As given on the command line or found under it (relative to the working directory when inside it). */
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number | null;
  /** One sentence: why this leaks. */
  message: string;
  /** One concrete fix. */
  fix: string;
  /** The container's name when the finding is about one (`_cache`, `Pool.items`), else null. */
  container: string | null;
  /** "high": the code says it grows with data, requests or users (a cache keyed by what callers pass, a
   *  method cache on a class offered to users, growth in code that handles a request). "low": it may
   *  be bounded by what the code cannot say (why in `lowBecause`); shown only with `--confidence low`,
   *  and where a run's leak confirms it. */
  confidence: Confidence;
  lowBecause?: string;
  /** With `--capture`: the leaks of that run this finding explains, and the memory they held (null: none). */
  runtime?: RuntimeLink | null;
  /** Only with `requireEvidence: false`: no linted file shows that its code runs many times; kept only
   *  where a run's leak shows it instead (never written out). */
  unproven?: boolean;
}

/** A file that was not linted (syntax error, unreadable): reported, never fatal. */
export interface LintNote {
  file: string;
  message: string;
}

export interface LintResult {
  python: { path: string; version: string };
  rules: LintRule[];
  findings: LintFinding[];
  notes: LintNote[];
  /** Files linted (or tried), and their lines. */
  files: number;
  lines: number;
  /** Test code found under the given folders and not linted (only read for the names it trims). */
  testFiles: number;
  /** Rule ids switched off by configuration. */
  disabled: string[];
  /** The lowest confidence reported ("high" by default). */
  confidence: Confidence;
  /** Findings of low confidence left out (with the default "high"). */
  lowConfidence: number;
  durationSec: number;
  /** With `--capture`: the capture the findings were ranked against. */
  capture?: string;
}
