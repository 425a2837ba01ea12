import type { RuntimeLink } from "./runtime-link.js";

// What `leakhound lint` finds: the shape shared by the Python side's answer,
// the terminal report, the JSON file (schema leakhound/lint@1) and the CI outputs.

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
  durationSec: number;
  /** With `--capture`: the capture the findings were ranked against. */
  capture?: string;
}
