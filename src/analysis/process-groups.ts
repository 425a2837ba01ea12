// Leaks of processes that run the same code (pool workers, prefork servers,
// spawned children) at the same site are one leak: "4 of 4 workers of pid 812
// leak at app.py:31, +1.2 MiB/s each", with each process's figures kept as detail. Native
// growth that no sampled allocation accounts for (no site) is one leak per code as well.
// The merged leak's figures are totals over its processes; its retainer paths are
// those of its largest process that has any.
import type { ProcessCapture } from "../capture/model.js";
import type { LeakProcess, LeakReport } from "../report/model.js";
import { formatRate } from "../report/units.js";
import { siteKey } from "./frames.js";
import { THRESHOLDS } from "./thresholds.js";

/** The same program: the same command line (a fork keeps its parent's) and executable. */
function sameCode(a: ProcessCapture, b: ProcessCapture): boolean {
  return a.executable === b.executable && a.argv.join("\0") === b.argv.join("\0");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function mergeAcrossProcesses(leaks: readonly LeakReport[], processes: readonly ProcessCapture[]): LeakReport[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const groups = new Map<string, LeakReport[]>();
  const out: LeakReport[] = [];
  for (const leak of leaks) {
    const site = siteKey(leak.site);
    const proc = byPid.get(leak.pid);
    // Native growth no sampled allocation accounts for has no site: the same code's is one leak.
    const unattributed = leak.kind === "native" && leak.unattributed && proc ? `${proc.executable}\0${proc.argv.join("\0")}` : null;
    if (unattributed === null && (!site || leak.stackId < 0)) {
      out.push(leak);
      continue;
    }
    const key = unattributed !== null ? `native-unattributed\0${unattributed}` : `${leak.kind}\0${site}\0${leak.site!.function}`;
    const list = groups.get(key);
    if (list) list.push(leak);
    else groups.set(key, [leak]);
  }
  for (const all of groups.values()) {
    // One process may leak at the site by more than one stack: its largest is its part of the
    // group, the others stay leaks of their own.
    const largest = new Map<number, LeakReport>();
    for (const m of all) if ((largest.get(m.pid)?.growthBytes ?? -Infinity) < m.growthBytes) largest.set(m.pid, m);
    if (largest.size < 2) {
      out.push(...all);
      continue;
    }
    const members = [...largest.values()];
    out.push(merge(members, byPid, processes), ...all.filter((m) => !members.includes(m)));
  }
  return out;
}

function merge(members: LeakReport[], byPid: Map<number, ProcessCapture>, processes: readonly ProcessCapture[]): LeakReport {
  members.sort((a, b) => b.growthBytes - a.growthBytes);
  const primary = members.find((m) => m.retainers.length > 0) ?? members[0]!;
  const procs = members.map((m) => byPid.get(m.pid)).filter((p): p is ProcessCapture => p !== undefined);
  const parents = new Set(procs.map((p) => p.ppid));
  const parent = parents.size === 1 && byPid.has(procs[0]!.ppid) ? procs[0]!.ppid : null;
  // Out of how many: the processes of the same code beside them (the same parent when they share
  // one) that lived long enough to be judged; a fork that said hello and then exec'd is not one.
  const first = procs[0];
  const of = first
    ? processes.filter(
        (p) => sameCode(p, first) && (parent === null || p.ppid === parent) && p.samples.length >= THRESHOLDS.minSamples,
      ).length
    : members.length;
  const label = parent !== null ? `workers of pid ${parent}` : "processes";
  const rate = median(members.map((m) => m.growthBytesPerSec));
  const detail: LeakProcess[] = members.map((m) => ({
    pid: m.pid,
    growthBytes: m.growthBytes,
    growthBytesPerSec: m.growthBytesPerSec,
    liveBytes: m.liveBytes,
    confidence: m.confidence,
    ...(m.retainers[0] ? { retainer: m.retainers[0].text } : m.retainerNote ? { retainer: m.retainerNote } : {}),
  }));
  const sum = (f: (l: LeakReport) => number) => members.reduce((s, m) => s + f(m), 0);
  return {
    ...primary,
    pid: members[0]!.pid,
    growthBytes: sum((m) => m.growthBytes),
    growthBytesPerSec: sum((m) => m.growthBytesPerSec),
    liveBytes: sum((m) => m.liveBytes),
    liveCount: sum((m) => m.liveCount),
    confidence: Math.max(...members.map((m) => m.confidence)),
    evidence: `${members.length} of ${Math.max(of, members.length)} ${label} leak ${primary.site ? "here" : "native memory"}, ${formatRate(rate)} each; ${members[0]!.evidence}`,
    processes: detail,
    group: { leaking: members.length, of: Math.max(of, members.length), label },
  };
}
