// A lint result as the generic CI findings that src/report/sarif.ts and
// src/report/github.ts write (the same writers the `run` command's CI outputs use).
import type { CiFinding, CiRule } from "../report/ci-findings.js";
import type { LintResult } from "./model.js";

export function lintCiRules(r: LintResult): CiRule[] {
  return r.rules.map((rule) => ({ id: rule.id, title: rule.title, help: rule.help }));
}

/** Findings as warnings (of low confidence: notes; the message carries the fix); files not linted as notes. */
export function lintCiFindings(r: LintResult): CiFinding[] {
  const findings: CiFinding[] = r.findings.map((f) => ({
    ruleId: f.rule,
    level: f.confidence === "low" ? "note" : "warning",
    message: `${f.message} Fix: ${f.fix}${f.lowBecause ? ` (Low confidence: ${f.lowBecause}.)` : ""}`,
    file: f.file,
    line: f.line,
    column: f.column,
    endLine: f.endLine,
    ...(f.endColumn !== null ? { endColumn: f.endColumn } : {}),
  }));
  const notes: CiFinding[] = r.notes.map((n) => ({ ruleId: "not-linted", level: "note", message: `Not linted: ${n.message}`, file: n.file }));
  return [...findings, ...notes];
}
