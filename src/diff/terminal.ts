// `leakhound diff` in the terminal: one line of counts, then one entry per leak site,
// in the project's number vocabulary (src/report/units.ts).
import { frameLabel } from "../analysis/format.js";
import { formatRate, formatSec, escapeText } from "../report/units.js";
import type { DiffEntry, DiffReport, DiffSide } from "./model.js";

const LABEL: Record<DiffEntry["status"], string> = {
  fixed: "FIXED",
  "still-leaking": "STILL LEAKING",
  new: "NEW LEAK",
  inconclusive: "INCONCLUSIVE",
};

export function renderDiff(d: DiffReport): string {
  const c = d.counts;
  const lines = [
    `leakhound diff: ${c.fixed} fixed, ${c["still-leaking"]} still leaking, ${c.new} new, ${c.inconclusive} inconclusive`,
    `  before: ${d.before.verdict} over ${formatSec(d.before.durationSec)}  ${d.before.capture}`,
    `  after:  ${d.after.verdict} over ${formatSec(d.after.durationSec)}  ${d.after.capture}`,
  ];
  if (!d.entries.length) {
    const unsure = [d.before, d.after].some((c) => c.verdict === "inconclusive");
    lines.push("", `  neither capture has a leak${unsure ? " (one of them could not tell: see leakhound report)" : ""}`);
  }
  for (const e of d.entries) {
    lines.push("", `  ${LABEL[e.status].padEnd(14)}${where(e)}  ${rates(e)}`);
    if (e.code) lines.push(`  ${"".padEnd(14)}${e.code}`);
    lines.push(`  ${"".padEnd(14)}${e.reason}`);
  }
  return `${lines.map(escapeText).join("\n")}\n`;
}

function where(e: DiffEntry): string {
  const site = e.before?.site ?? e.after?.site ?? null;
  if (!site) return e.kind === "native" ? "native memory" : "growth spread over small stacks";
  const b = e.before?.site?.line;
  const a = e.after?.site?.line;
  const label = frameLabel(site);
  // A fix that moved the line: "app.py:18 → 21 (parse)".
  return b && a && a !== b ? label.replace(`:${b} `, `:${b} → ${a} `) : label;
}

function rates(e: DiffEntry): string {
  const r = (s: DiffSide | null) => (s ? formatRate(s.growthBytesPerSec) : "—");
  // An after-run that could not tell has no rate worth printing.
  const after = e.status === "inconclusive" && !e.after?.leak ? "?" : r(e.after);
  return `${r(e.before)} → ${after}`;
}
