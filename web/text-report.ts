// "Copy as text": one leak as plain text, fit for pasting into a bug report.
import * as fmt from "./format.js";
import { collectorSummary, commandLine, escapeText, isNoPythonFrame, NO_PYTHON_FRAME, ownerLine, retainerFigures } from "../src/report/units.js";
import type { Leak, Model } from "./model.js";
import { mergeRetainers, type RetainerNode } from "./retainer-tree.js";

export function sourceExcerpt(model: Model, leak: Leak, context = 3): { line: number; text: string; site: boolean }[] {
  const site = leak.site;
  if (!site) return [];
  // Own properties only: a file named "__proto__" or "constructor" must not find Object's.
  const sources = model.head.sources ?? {};
  const src = Object.prototype.hasOwnProperty.call(sources, site.file) ? sources[site.file] : undefined;
  if (!src || !Array.isArray(src.lines)) return [];
  const out: { line: number; text: string; site: boolean }[] = [];
  for (let i = 0; i < src.lines.length; i++) {
    const line = src.start + i;
    if (Math.abs(line - site.line) <= context) out.push({ line, text: src.lines[i], site: line === site.line });
  }
  return out;
}

function treeLines(nodes: RetainerNode[], prefix: string, out: string[]): void {
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    out.push(`${prefix}${last ? "└─ " : "├─ "}${node.label}  [${fmt.count(node.objects)} objects, ${fmt.bytes(node.bytes)}]`);
    treeLines(node.children, prefix + (last ? "   " : "│  "), out);
  });
}

export function leakAsText(model: Model, leak: Leak): string {
  const h = model.head;
  const out: string[] = [];
  const where = leak.site ? (isNoPythonFrame(leak.site) ? NO_PYTHON_FRAME : `${leak.site.file}:${leak.site.line} in ${leak.site.function}`) : "(unknown site)";
  out.push(`Memory leak #${leak.rank} (${leak.kind}) at ${where}`);
  out.push("");
  out.push(`Command:    ${commandLine(h.target.argv)}`);
  out.push(
    leak.group
      ? `Processes:  ${leak.group.leaking} of ${leak.group.of} ${leak.group.label}${h.target.python ? `, Python ${h.target.python}` : ""}`
      : `Process:    pid ${leak.pid}${h.target.python ? `, Python ${h.target.python}` : ""}`,
  );
  for (const p of leak.processes ?? []) {
    out.push(`  pid ${p.pid}: ${fmt.signedBytes(p.growthBytes)} (${fmt.rate(p.growthBytesPerSec)}), live ${fmt.bytes(p.liveBytes)}${p.retainer ? ` · ${p.retainer}` : ""}`);
  }
  out.push(`Growth:     ${fmt.signedBytes(leak.growthBytes)} (${fmt.rate(leak.growthBytesPerSec)}) over ${fmt.duration(h.durationSec)}`);
  out.push(`Live now:   ${fmt.bytes(leak.liveBytes)} in ${fmt.countOf(leak.liveCount, "allocation")}`);
  out.push(`Confidence: ${fmt.percent(leak.confidence)} — ${leak.evidence}`);
  for (const c of leak.causes ?? []) out.push(`Cause:      ${c.message} (${c.rule}, ${c.file}:${c.line})`, `Fix:        ${c.fix}`);
  if (leak.holder) out.push(`Held by:    ${leak.holder.what}`, `Fix:        ${leak.holder.fix}`);
  const src = sourceExcerpt(model, leak);
  if (src.length) {
    out.push("");
    out.push("Source:");
    const width = String(src[src.length - 1].line).length;
    for (const l of src) out.push(`${l.site ? ">" : " "} ${String(l.line).padStart(width)} | ${l.text}`);
  }
  out.push("");
  out.push("Stack (innermost first):");
  if (leak.stack.length === 0) out.push("  (no stack recorded)");
  for (const f of leak.stack) out.push(`  ${f.file}:${f.line} in ${f.function}`);
  out.push("");
  if (leak.retainers.length) {
    if (leak.owner) out.push(`Native memory ${ownerLine(leak.owner)}.`);
    out.push(leak.explainedAt ? `Kept alive by (${leak.explainedAt.text}):` : "Kept alive by:");
    for (const r of leak.retainers) out.push(`  ${r.text}  (${retainerFigures(r)})`);
    out.push("");
    out.push("Retainer tree:");
    treeLines(mergeRetainers(leak.retainers), "  ", out);
  } else {
    out.push(`Kept alive by: ${leak.retainerNote ?? (leak.unreachable ? "nothing reachable (unreachable objects)" : "no path found")}`);
  }
  if (leak.retainers.length && leak.retainerNote) out.push(`Note: ${leak.retainerNote}`);
  out.push("");
  const c = h.collector;
  const coll = c ? collectorSummary(c) : "unknown collector";
  out.push(`— ${h.tool.name} ${h.tool.version} (${coll}); verdict: ${fmt.verdictLabel(h.verdict)}: ${h.reason}`);
  // Pasted into a terminal or a bug tracker: no string from the target may carry a control character.
  return out.map(escapeText).join("\n");
}
