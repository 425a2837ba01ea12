// `leakhound lint --json FILE`: the result as JSON, schema leakhound/lint@1
// (src/lint/lint.schema.json).
import fs from "node:fs";
import { VERSION } from "../version.js";
import type { LintResult } from "./model.js";

export const LINT_SCHEMA = "leakhound/lint@1";

export function toLintJson(r: LintResult): object {
  return {
    schema: LINT_SCHEMA,
    tool: { name: "leakhound", version: VERSION },
    python: r.python,
    files: r.files,
    lines: r.lines,
    testFiles: r.testFiles,
    durationSec: Math.round(r.durationSec * 1000) / 1000,
    disabled: r.disabled,
    confidence: r.confidence,
    lowConfidence: r.lowConfidence,
    rules: r.rules,
    ...(r.capture ? { capture: r.capture } : {}),
    findings: r.findings,
    notes: r.notes,
  };
}

export function writeLintJson(r: LintResult, file: string): void {
  fs.writeFileSync(file, JSON.stringify(toLintJson(r), null, 2) + "\n");
}
