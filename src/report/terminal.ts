// The report as text for a terminal: the verdict first, then each leak with its
// site, stack, evidence and why it stays alive.
import type { CauseReport, LeakReport, Report } from "./model.js";
import { countOf, formatBytes, formatCount, formatGrowth, formatRate, longFrame } from "./format.js";
import { renderTests } from "./terminal-tests.js";
import { collectorSummary, commandLine, escapeDeep, escapeText, formatSec, ownerFigures, reachedWords, retainerFigures, threadsWorthShowing, threadWords } from "./units.js";

export interface TerminalOptions {
  color: boolean;
  cwd?: string;
  /** Leaks shown in full; the rest get one line. */
  detailed?: number;
  /** The collector's full error note and other detail. */
  verbose?: boolean;
}

export function renderTerminal(untrusted: Report, opts: TerminalOptions): string {
  // Every string in the report may come from the target (names, paths, keys, notes):
  // escape them all before any is printed; only this file adds escape sequences (colours).
  const report = escapeDeep(untrusted);
  const c = colors(opts.color);
  const out: string[] = [];
  const verdictText =
    report.verdict === "leak"
      ? c.red(c.bold(`LEAK`))
      : report.verdict === "no-leak"
        ? c.green(c.bold("NO LEAK"))
        : c.yellow(c.bold("INCONCLUSIVE"));
  const partial = report.partial ? c.yellow(" (partial report)") : "";
  out.push(`${c.bold("leakhound")}: ${verdictText} — ${report.reason} (confidence ${Math.round(report.confidence * 100)}%)${partial}`);
  out.push("");
  const t = report.target;
  const observed = report.processes.length > 0;
  const ended = t.signal ? `killed by ${t.signal}` : t.exitCode !== null ? `exit ${t.exitCode}` : "exit unknown";
  const status =
    t.stoppedBy === "leakhound" ? `stopped by leakhound, ${ended}` : t.stoppedBy === "detached" ? "leakhound detached, still running" : ended;
  out.push(
    `  ${c.dim("target")}     ${escapeText(commandLine(untrusted.target.argv))}  (${t.pid !== null ? `pid ${t.pid}, ` : ""}${t.python ? `Python ${t.python}, ` : ""}${status}${observed ? `, ${report.durationSec.toFixed(1)} s` : ""})`,
  );
  const m = report.memory;
  const warmup = report.processes.find((p) => p.pid === t.pid)?.warmupSec ?? 0;
  const after = warmup > 0 ? ` after a ${formatSec(warmup)} warm-up` : "";
  // No process was observed (not Python, too old, ended before its agent connected): no figures to show.
  if (!observed) out.push(`  ${c.dim("memory")}     not measured: no Python process was observed`);
  else out.push(
    `  ${c.dim("memory")}     RSS ${formatBytes(m.rss.start)} → ${formatBytes(m.rss.end)}   ` +
      `Python heap ${formatBytes(m.heap.start)} → ${formatBytes(m.heap.end)}   ` +
      `trend${after}: RSS ${formatRate(m.rss.ratePerSec)}, heap ${formatRate(m.heap.ratePerSec)}`,
  );
  if (report.threads && (opts.verbose || threadsWorthShowing(report.threads))) {
    const words = threadWords(report.threads);
    out.push(`  ${c.dim("threads")}    ${report.threads.growing ? c.yellow(words) : words}`);
  }
  if (report.collector) {
    out.push(`  ${c.dim("collector")}  ${collectorSummary(report.collector)}`);
    if (opts.verbose && report.collector.note) out.push(`             ${report.collector.note}`);
  }
  if (report.processes.length > 1) out.push(`  ${c.dim("processes")}  ${report.processes.map((p) => `${p.pid}: ${p.verdict}`).join(", ")}`);
  for (const n of report.notes) out.push(`  ${c.yellow("note")}       ${n}`);
  // Growth that levels off: sites that grew into containers not full yet (not leaks; already escaped with the report).
  for (const b of (report.bounded ?? []).slice(0, 5)) out.push(`  ${c.dim("bounded")}    ${b.text}`);

  out.push(...renderCauses(report, c));
  const detailed = opts.detailed ?? 3;
  report.leaks.forEach((leak, i) => {
    out.push("");
    if (i < detailed) out.push(...renderLeak(leak, report, opts, c));
    else {
      const reused = leak.reusedFromFreeList ? c.dim(`  (its memory reused from CPython's ${(leak.freeLists ?? []).join("/")} free list by other lines)`) : "";
      out.push(`${c.bold(`#${leak.rank}`)} ${leak.kind} leak ${formatRate(leak.growthBytesPerSec)} at ${leak.site ? longFrame(leak.site, opts.cwd) : "?"}${reused}`);
    }
  });
  out.push(...renderTests(report, opts.cwd, c));
  if (report.capture) {
    out.push("");
    out.push(`${c.dim("capture")}: ${report.capture}  (re-analyse: leakhound report ${shellQuote(report.capture)})`);
  }
  return out.join("\n") + "\n";
}

/**
 * The leaks as the user counts them, first: one line per cause (the container that keeps its
 * sites' objects alive), with its sites' ranks below. Only when some cause holds several sites
 * (otherwise each leak below is its own cause and this would repeat it).
 */
function renderCauses(report: Report, c: Colors): string[] {
  const causes: CauseReport[] = report.causes ?? [];
  if (!causes.some((k) => k.sites > 1)) return [];
  const out = ["", c.bold(`${causes.length} leak${causes.length === 1 ? "" : "s"} by cause:`)];
  for (const k of causes) {
    const ranks = k.leaks.map((r) => `#${r}`).join(", ");
    const exit = k.freedAtExit ? ", freed only at exit" : "";
    out.push(`  ${c.bold(k.id)}  ${k.label}`);
    out.push(
      `      ${countOf(k.sites, "allocation site")} (${ranks}), ${formatGrowth(k.growthBytes)} after warm-up (${formatRate(k.growthBytesPerSec)}), live ${formatBytes(k.liveBytes)}${exit}`,
    );
    // With --lint: the findings that explain any of its sites, once each.
    const seen = new Set<string>();
    for (const leak of report.leaks.filter((l) => l.cause === k.id)) {
      for (const f of leak.causes ?? []) {
        const key = `${f.rule} ${f.file}:${f.line}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(`      ${c.dim("fix:")} ${f.fix} (${f.rule}, ${f.file}:${f.line})`);
      }
    }
  }
  return out;
}

function renderLeak(leak: LeakReport, report: Report, opts: TerminalOptions, c: Colors): string[] {
  const out: string[] = [];
  const pid = leak.group
    ? ` in ${leak.group.leaking} of ${leak.group.of} ${leak.group.label}`
    : report.processes.length > 1
      ? ` in pid ${leak.pid}`
      : "";
  const shared = (report.causes ?? []).find((k) => k.id === leak.cause && k.sites > 1);
  out.push(
    `${c.bold(`#${leak.rank} ${leak.kind} leak`)}${pid}  ${c.red(formatGrowth(leak.growthBytes))} after warm-up (${formatRate(leak.growthBytesPerSec)})  ` +
      `live ${formatBytes(leak.liveBytes)}${leak.liveCount > 0 ? ` in ${countOf(leak.liveCount, "allocation")}` : ""}  confidence ${Math.round(leak.confidence * 100)}%` +
      (shared ? c.dim(`  (cause ${shared.id})`) : ""),
  );
  if (leak.site) {
    out.push(`   at ${c.cyan(longFrame(leak.site, opts.cwd))}`);
    const src = report.sources[leak.site.file];
    const line = src?.lines[leak.site.line - src.start];
    if (line !== undefined) out.push(`   ${c.dim(String(leak.site.line).padStart(6) + " │")} ${line.trim()}`);
  }
  if (leak.unattributed) out.push(`   at ${c.yellow("no line")}: ${leak.unattributed.why}`);
  out.push(`   ${c.dim("evidence:")} ${leak.evidence}`);
  if (leak.unattributed?.candidates.length) {
    const u = leak.unattributed;
    out.push(`   ${c.dim(`running while it grew (${u.samples} stack samples; running is not allocating):`)}`);
    for (const cand of u.candidates) {
      const flat = cand.shareWhileFlat === null ? "" : c.dim(`  (${Math.round(cand.shareWhileFlat * 100)}% while RSS did not rise)`);
      out.push(`      ${String(Math.round(cand.share * 100)).padStart(3)}%  ${longFrame(cand.site, opts.cwd)}${flat}`);
      const src = report.sources[cand.site.file];
      const line = src?.lines[cand.site.line - src.start];
      if (line !== undefined) out.push(`      ${c.dim(String(cand.site.line).padStart(6) + " │")} ${line.trim()}`);
    }
  }
  for (const cause of leak.causes ?? []) {
    out.push(`   ${c.yellow("cause:")} ${escapeText(cause.message)} (${cause.rule}, ${escapeText(cause.file)}:${cause.line})`);
    out.push(`   ${c.dim("fix:")} ${escapeText(cause.fix)}`);
  }
  if (leak.holder) {
    out.push(`   ${c.yellow("held by:")} ${leak.holder.what}`);
    out.push(`   ${c.dim("fix:")} ${leak.holder.fix}`);
  }
  if (leak.tests?.length) {
    const named = leak.tests.slice(0, 3).map((t) => `${escapeText(t.id)} (${t.runs} run${t.runs === 1 ? "" : "s"}, ${formatBytes(t.bytes)})`);
    const more = leak.tests.length > 3 ? `, and ${leak.tests.length - 3} more` : "";
    out.push(`   ${c.dim("tests:")} ${named.join(", ")}${more}`);
  }
  for (const p of leak.processes ?? []) {
    out.push(
      `   ${c.dim(`pid ${p.pid}:`)} ${formatGrowth(p.growthBytes)} (${formatRate(p.growthBytesPerSec)}), live ${formatBytes(p.liveBytes)}` +
        (p.retainer ? c.dim(` · ${p.retainer}`) : ""),
    );
  }
  if (leak.reusedFromFreeList) out.push(`   ${c.yellow("free list:")} memory here was reused from CPython's ${(leak.freeLists ?? []).join("/")} free list${(leak.freeLists ?? []).length > 1 ? "s" : ""} by objects made on other lines (${formatBytes(leak.freeListBytes ?? 0)} of it)`);
  if (leak.stack.length > 1) {
    out.push(`   ${c.dim("stack (innermost first):")}`);
    for (const f of leak.stack.slice(0, 12)) out.push(`      ${longFrame(f, opts.cwd)}`);
    if (leak.stack.length > 12) out.push(`      … ${leak.stack.length - 12} more`);
  }
  if (leak.kind === "python") {
    out.push(`   ${c.dim("why it stays alive:")}${leak.explainedAt ? c.dim(` (${leak.explainedAt.text})`) : ""}`);
    if (leak.unreachable) out.push(`      ${c.yellow(leak.retainerNote ?? "unreachable")}`);
    else if (leak.retainers.length === 0) out.push(`      ${leak.retainerNote ?? "no reference path was found"}`);
    // Beside reachable paths, a note says what holds their root or what the paths end at (atexit, storage).
    else if (leak.retainerNote) out.push(`      ${c.dim(leak.retainerNote)}`);
    for (const r of leak.retainers.slice(0, 3)) {
      out.push(`      ${retainerFigures(r)}`);
      out.push(`        ${r.text}`);
    }
    const traced = leak.retainers[0]?.traced;
    if (traced && leak.retainers.slice(0, 3).some((r) => !r.exact)) {
      out.push(
        c.dim(
          `      (paths traced for ${formatCount(traced.explained)} of the ${formatCount(traced.sampled)} sampled objects found; ` +
            `each path's share estimated from them)`,
        ),
      );
    }
  } else if (leak.owner && leak.retainers.length) {
    // A native leak with Python owners: who holds the memory, and why they stay alive.
    const when = leak.explainedAt ? c.dim(` (${leak.explainedAt.text})`) : "";
    out.push(`   ${c.dim("whose memory it is:")}${when}`);
    if (leak.retainerNote) out.push(`      ${leak.retainerNote}`);
    const reached = reachedWords(leak.owner.reached);
    if (reached) out.push(`      ${c.yellow(reached.trim().replace(/^\(|\)$/g, ""))}`);
    for (const r of leak.retainers.slice(0, 3)) {
      out.push(`      ${escapeText(ownerFigures(r, leak.owner))}`);
      out.push(`        ${r.text}`);
    }
  } else if (leak.retainerNote) {
    out.push(`   ${leak.retainerNote}`);
  }
  return out;
}

function shellQuote(s: string): string {
  return /^[\w./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

type Colors = ReturnType<typeof colors>;
function colors(on: boolean) {
  const wrap = (code: string) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return {
    bold: wrap("1"),
    dim: wrap("2"),
    red: wrap("31"),
    green: wrap("32"),
    yellow: wrap("33"),
    cyan: wrap("36"),
  };
}
