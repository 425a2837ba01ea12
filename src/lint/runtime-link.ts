// From a runtime leak to its cause in the source: a lint finding matches a leak
// found by `leakhound run` when the leak's allocation site or a frame of its
// stack is the finding's line, or when one of the leak's reference paths starts
// at the finding's container (`module app → _SESSIONS (dict, ...)`). Used by
// `leakhound lint --capture X.lhdb` to rank findings by the memory they held.
import path from "node:path";
import type { LeakReport, Report, RetainerReport } from "../report/model.js";
import type { LintFinding } from "./model.js";

export interface RuntimeLink {
  /** Ranks of the matching leaks in the report, most important first. */
  leaks: number[];
  /** Live bytes at the end of the run, summed over those leaks. */
  liveBytes: number;
  /** Retained growth after warm-up, summed over those leaks. */
  growthBytes: number;
  /** How the first leak matched: its site or stack ("site"), or a reference path from the container ("retainer"). */
  via: "site" | "retainer";
}

/** `module app.cache` → the module name; null for other roots. */
function rootModule(r: RetainerReport): string | null {
  const m = /^module (\S+)/.exec(r.root);
  return m ? m[1]! : null;
}

/** True when the module name can be the file: `__main__` for the run's script, or its dotted name ends the path. */
function moduleIsFile(module: string, file: string, scripts: Set<string>): boolean {
  if (module === "__main__") return scripts.has(path.basename(file));
  const noExt = file.replace(/\.py$/, "").split(path.sep).join("/");
  const dotted = module.split(".").join("/");
  return noExt === dotted || noExt.endsWith(`/${dotted}`) || (noExt.endsWith(`/${dotted}/__init__`));
}

/**
 * The first step of a reference path names the container: `_SESSIONS (dict, 2,810 items)`, `.attr` of a
 * class, or a mutable default argument by its parameter, `normalise(_memo={...}) (dict, ...)`.
 */
function firstStepNames(r: RetainerReport, container: string): boolean {
  const step = r.path[0];
  if (!step) return false;
  const param = /^[\w.<>]+\((?:\*, )?(\w+)=/.exec(step);
  if (param && param[1] === container) return true;
  const name = step.replace(/\s*\(.*$/, "").trim();
  const parts = container.split(".");
  return name === parts[0] || name === parts[parts.length - 1] || name === `.${parts[parts.length - 1]}`;
}

/**
 * A path through the attribute of an instance of the class: `local variable self (Broker) → .unacked
 * (dict, ...)`, `BROKER (Broker) → .unacked (dict, ...)`, wherever the instance is held (a module, a
 * thread's frame): the container `Broker.unacked` of a singleton-container-growth finding (or of
 * another rule's finding on an object's own container).
 */
function throughInstanceAttr(r: RetainerReport, container: string): boolean {
  const [cls, attr] = container.split(".");
  if (!cls || !attr) return false;
  const owner = new RegExp(`\\((?:[\\w.]+\\.)?${cls}[,)]`);
  return r.path.some((step, i) => i > 0 && step.replace(/\s*\(.*$/, "").trim() === `.${attr}` && owner.test(r.path[i - 1]!));
}

function matches(f: LintFinding, absFile: string, leak: LeakReport, scripts: Set<string>): "site" | "retainer" | null {
  const frames = [leak.site, ...leak.stack].filter((fr): fr is NonNullable<typeof fr> => fr !== null);
  if (frames.some((fr) => path.resolve(fr.file) === absFile && fr.line >= f.line && fr.line <= f.endLine)) return "site";
  // An object's own container (`Cls.attr`: singleton-container-growth's, an instance memo, an entry left
  // behind), wherever the object is held.
  if (f.container?.includes(".") && leak.retainers.some((r) => throughInstanceAttr(r, f.container!))) return "retainer";
  if (f.rule === "singleton-container-growth") return null;
  if (f.container && leak.retainers.some((r) => {
    const mod = rootModule(r);
    return mod !== null && moduleIsFile(mod, absFile, scripts) && firstStepNames(r, f.container!);
  })) {
    return "retainer";
  }
  return null;
}

/** For each finding, the leaks it explains and how each matched (in the report's order). */
export function matchLeaks(findings: LintFinding[], report: Report, cwd = process.cwd()): Map<LeakReport, RuntimeLink["via"]>[] {
  // The scripts the run started (`python app.py`): what its `module __main__` roots are.
  const scripts = new Set(report.target.argv.filter((a) => a.endsWith(".py")).map((a) => path.basename(a)));
  return findings.map((f) => {
    const abs = path.resolve(cwd, f.file);
    const hit = new Map<LeakReport, RuntimeLink["via"]>();
    for (const leak of report.leaks) {
      const how = matches(f, abs, leak, scripts);
      if (how) hit.set(leak, how);
    }
    return hit;
  });
}

/** The runtime link of each finding (null when no leak matches), in the findings' order. */
export function linkFindings(findings: LintFinding[], report: Report, cwd = process.cwd()): (RuntimeLink | null)[] {
  return matchLeaks(findings, report, cwd).map((hit) => {
    if (!hit.size) return null;
    const leaks = [...hit.keys()];
    return {
      leaks: leaks.map((l) => l.rank),
      liveBytes: leaks.reduce((s, l) => s + l.liveBytes, 0),
      growthBytes: leaks.reduce((s, l) => s + l.growthBytes, 0),
      via: hit.values().next().value!,
    };
  });
}

/** Findings that held memory at run time first (most bytes first), then the rest in their order. */
export function rankByRuntime<T extends { runtime: RuntimeLink | null }>(items: T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => (b.item.runtime?.liveBytes ?? -1) - (a.item.runtime?.liveBytes ?? -1) || a.i - b.i)
    .map(({ item }) => item);
}
