// The terminal report of `leakhound lint`: grouped by file, one line per finding
// and its fix below it, then the files that could not be linted. A run of findings
// in one file that say the same thing of different names (a class's cached methods)
// is shown once in full, then as one wrapped list of the others' lines and names.
import { countOf, escapeText, formatBytes, formatCount, formatGrowth, formatSec } from "../report/units.js";
import type { LintFinding, LintResult } from "./model.js";

/** Shortest run of alike findings that is folded into one list. */
const FOLD_AT = 4;
const WIDTH = 100;

/** The index of the one code span (between backticks) in which two messages differ, or -1 when
 *  they differ elsewhere or in more than one span. */
function differingSpan(a: string, b: string): number {
  const pa = a.split("`"), pb = b.split("`");
  if (pa.length !== pb.length || pa.length % 2 === 0) return -1;
  let at = -1;
  for (let i = 0; i < pa.length; i++) {
    if (pa[i] === pb[i]) continue;
    if (i % 2 === 0 || at !== -1) return -1;
    at = i;
  }
  return at;
}

/** Whether `next` says what `first` says, of another name, with nothing of its own to show. */
function alike(first: LintFinding, next: LintFinding, span: number): boolean {
  return (
    next.file === first.file && next.rule === first.rule && next.fix === first.fix &&
    next.lowBecause === first.lowBecause && !first.runtime && !next.runtime &&
    differingSpan(first.message, next.message) === span
  );
}

/** Findings in order, each with the alike ones that follow it (only runs of FOLD_AT or more). */
function fold(findings: LintFinding[]): { finding: LintFinding; more: LintFinding[]; span: number }[] {
  const out: { finding: LintFinding; more: LintFinding[]; span: number }[] = [];
  for (let i = 0; i < findings.length; ) {
    const first = findings[i];
    const span = i + 1 < findings.length ? differingSpan(first.message, findings[i + 1].message) : -1;
    let j = i + 1;
    while (span > 0 && j < findings.length && alike(first, findings[j], span)) j++;
    if (j - i >= FOLD_AT) {
      out.push({ finding: first, more: findings.slice(i + 1, j), span });
      i = j;
    } else {
      out.push({ finding: first, more: [], span: -1 });
      i++;
    }
  }
  return out;
}

/** Words joined by ", " in lines of at most WIDTH columns after an indent. */
function wrap(head: string, words: string[], indent: string): string[] {
  const lines: string[] = [];
  let line = head;
  for (const [k, w] of words.entries()) {
    const piece = w + (k < words.length - 1 ? "," : "");
    if (line.length + 1 + piece.length > WIDTH && line.trim()) {
      lines.push(line);
      line = indent + piece;
    } else line += (line.endsWith(" ") ? "" : " ") + piece;
  }
  lines.push(line);
  return lines;
}

export interface TerminalOptions {
  color: boolean;
}

export function renderLintTerminal(r: LintResult, opts: TerminalOptions): string {
  const c = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out: string[] = [];
  let current = "";
  for (const { finding: f, more, span } of fold(r.findings)) {
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
    if (more.length) {
      const words = more.map((m) => `${m.line}:${m.column} \`${escapeText(m.message.split("`")[span])}\``);
      const indent = " ".repeat(10);
      out.push(...wrap(`${indent}${c("33", `the same for ${formatCount(more.length)} more:`)}`, words, indent));
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
