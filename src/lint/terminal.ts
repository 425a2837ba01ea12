// The terminal report of `leakhound lint`: grouped by file, one line per finding
// and its fix below it, then the files that could not be linted.
import { countOf, escapeText, formatBytes, formatCount, formatGrowth, formatSec } from "../report/units.js";
import type { LintResult } from "./model.js";

export interface TerminalOptions {
  color: boolean;
}

export function renderLintTerminal(r: LintResult, opts: TerminalOptions): string {
  const c = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out: string[] = [];
  let current = "";
  for (const f of r.findings) {
    if (f.file !== current) {
      if (current) out.push("");
      current = f.file;
      out.push(c("1", escapeText(f.file)));
    }
    const where = `${f.line}:${f.column}`;
    out.push(`  ${c("2", where.padEnd(8))}${c("33", f.rule)}  ${escapeText(f.message)}`);
    out.push(`  ${" ".repeat(8)}${c("32", "fix:")} ${escapeText(f.fix)}`);
    if (f.lowBecause) out.push(`  ${" ".repeat(8)}${c("2", `low confidence: ${escapeText(f.lowBecause)}`)}`);
    if (f.runtime) {
      const leaks = f.runtime.leaks.map((n) => `#${n}`).join(", ");
      const how = f.runtime.via === "site" ? "at this line" : `held by \`${escapeText(f.container ?? "")}\``;
      out.push(`  ${" ".repeat(8)}${c("31", "at run time:")} ${formatBytes(f.runtime.liveBytes)} live in leak${f.runtime.leaks.length === 1 ? "" : "s"} ${leaks} (${how}), ${formatGrowth(f.runtime.growthBytes)} after warm-up`);
    }
  }
  if (r.notes.length) {
    if (out.length) out.push("");
    out.push(c("1", "Not linted:"));
    for (const n of r.notes) out.push(`  ${escapeText(n.file)}: ${escapeText(n.message)}`);
  }
  const filesWith = new Set(r.findings.map((f) => f.file)).size;
  const summary =
    `leakhound lint: ${countOf(r.findings.length, "finding")}` +
    (r.findings.length ? ` in ${formatCount(filesWith)} of ${countOf(r.files, "file")}` : ` in ${countOf(r.files, "file")}`) +
    ` (${formatCount(r.lines)} lines, Python ${r.python.version}, ${formatSec(r.durationSec)})` +
    (r.notes.length ? `; ${countOf(r.notes.length, "file")} not linted` : "") +
    (r.testFiles ? `; ${countOf(r.testFiles, "test file")} skipped (--include-tests)` : "") +
    (r.disabled.length ? `; off: ${r.disabled.join(", ")}` : "") +
    (r.lowConfidence ? `; ${countOf(r.lowConfidence, "finding")} of low confidence not shown (--confidence low)` : "") +
    (r.capture ? `; ${countOf(r.findings.filter((f) => f.runtime).length, "finding")} matched leaks of ${escapeText(r.capture)}` : "");
  if (out.length) out.push("");
  out.push(summary);
  return out.join("\n") + "\n";
}
