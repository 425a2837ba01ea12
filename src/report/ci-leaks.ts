// A report's leaks as generic CI findings (ci-findings.ts): one per leak, at the
// line that allocated it, with the evidence and why it stays alive in the message.
// `leakhound run/report --sarif` and `--github` write these with the same writers
// as `leakhound lint`.
import path from "node:path";
import type { CiFinding, CiRule } from "./ci-findings.js";
import type { LeakReport, Report } from "./model.js";
import { escapeDeep, formatBytes, formatGrowth, formatRate } from "./units.js";

export const LEAK_RULES: CiRule[] = [
  {
    id: "python-leak",
    title: "Memory leak",
    help: "Python objects allocated at this line kept accumulating while the program ran (leakhound run): growth that never stopped, told apart from warm-up, caches that fill and stop, batch sawtooths and churn.",
  },
  {
    id: "native-leak",
    title: "Native memory leak",
    help: "Memory allocated outside the Python object allocator (by C code) kept growing while this Python line ran.",
  },
];

/** Where the leak is, relative to the working directory when inside it. */
function place(leak: LeakReport, cwd: string): { file: string; line?: number } | null {
  const site = leak.site ?? leak.stack[0] ?? null;
  if (!site || !site.file || site.file.startsWith("<")) return null;
  const rel = path.relative(cwd, path.resolve(cwd, site.file));
  const file = rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : site.file;
  return { file, ...(site.line > 0 ? { line: site.line } : {}) };
}

/** One paragraph: what grows, how fast, where, and what keeps it alive. */
export function leakMessage(leak: LeakReport): string {
  const who = leak.group ? ` in ${leak.group.leaking} of ${leak.group.of} ${leak.group.label}` : ` in pid ${leak.pid}`;
  const parts = [
    `${leak.kind === "native" ? "Native memory" : "Memory"} allocated here grew ${formatGrowth(leak.growthBytes)} (${formatRate(leak.growthBytesPerSec)})${who}; ${formatBytes(leak.liveBytes)} live at the end.`,
    `Evidence: ${leak.evidence}.`,
  ];
  const top = leak.retainers[0];
  if (top) parts.push(`Kept alive by: ${top.text}.`);
  else if (leak.retainerNote) parts.push(`Why it stays alive: ${leak.retainerNote}.`);
  if (leak.holder) parts.push(`Held by: ${leak.holder.what}. Fix: ${leak.holder.fix}`);
  return parts.join(" ");
}

/** The leaks with a place in a file (a leak without one, e.g. growth spread over many lines, has none). */
export function leakFindings(untrusted: Report, cwd = process.cwd()): CiFinding[] {
  // Names, paths and keys come from the target: no control characters reach a CI log.
  const report = escapeDeep(untrusted);
  const out: CiFinding[] = [];
  for (const leak of report.leaks) {
    const where = place(leak, cwd);
    if (!where) continue;
    out.push({ ruleId: leak.kind === "native" ? "native-leak" : "python-leak", level: "error", message: leakMessage(leak), ...where });
  }
  return out;
}

/** The job summary (GitHub's $GITHUB_STEP_SUMMARY, Markdown): the verdict and a table of the leaks. */
export function markdownSummary(untrusted: Report): string {
  const report = escapeDeep(untrusted);
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const lines = [
    `### leakhound: ${report.verdict === "leak" ? "leak found" : report.verdict === "no-leak" ? "no leak" : "inconclusive"}`,
    "",
    cell(report.reason),
    "",
  ];
  if (report.leaks.length) {
    lines.push("| # | where | growth | live | kept alive by |", "| --- | --- | --- | --- | --- |");
    for (const l of report.leaks) {
      const site = l.site ? `\`${cell(path.basename(l.site.file))}:${l.site.line}\` in \`${cell(l.site.function)}\`` : l.kind;
      lines.push(
        `| ${l.rank} | ${site} | ${formatGrowth(l.growthBytes)} (${formatRate(l.growthBytesPerSec)}) | ${formatBytes(l.liveBytes)} | ${cell(l.retainers[0]?.text ?? l.retainerNote ?? "")} |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n") + "\n";
}
