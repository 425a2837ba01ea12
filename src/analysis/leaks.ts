// Leak entries for the report. Stacks judged "leak" that share a site (the same
// innermost user line) are one leak: their numbers are added up, and the largest
// stack stands for them.
import type { ProcessCapture } from "../capture/model.js";
import type { Frame, RetainerResult } from "../protocol/messages.js";
import type { LeakReport } from "../report/model.js";
import { decimate } from "./stats/decimate.js";
import { frameLabel } from "./format.js";
import { siteKey } from "./frames.js";
import { retainerSearch, summarizeRetainers } from "./retainers.js";
import type { SiteGroup } from "./site-groups.js";
import type { StackAnalysis, Timeline } from "./stacks.js";
import { THRESHOLDS } from "./thresholds.js";

export function pythonLeaks(
  proc: ProcessCapture,
  tl: Timeline,
  stacks: readonly StackAnalysis[],
  siteGroups: readonly SiteGroup[] = [],
): LeakReport[] {
  const groups = new Map<string, StackAnalysis[]>();
  for (const s of stacks) {
    if (s.judgement.verdict !== "leak") continue;
    const key = siteKey(s.site) ?? `#${s.stackId}`;
    const group = groups.get(key);
    if (group) group.push(s);
    else groups.set(key, [s]);
  }
  const byId = new Map<number, RetainerResult>();
  for (const r of proc.retainers ?? []) byId.set(r.stackId, r);
  const out: LeakReport[] = [];
  for (const members of groups.values()) {
    members.sort((a, b) => b.features.retainedGrowth - a.features.retainedGrowth);
    const primary = members[0];
    let growthBytes = 0;
    let rate = 0;
    let liveBytes = 0;
    let liveCount = 0;
    let confidence = 0;
    for (const m of members) {
      growthBytes += m.features.retainedGrowth;
      rate += m.features.slope;
      liveBytes += m.liveBytes;
      liveCount += m.liveCount;
      confidence = Math.max(confidence, m.judgement.confidence);
    }
    const summary = summarizeRetainers(
      members.map((m) => ({ result: byId.get(m.stackId), liveBytes: m.liveBytes, liveCount: m.liveCount })),
      retainerSearch(proc.retainers),
    );
    const more = members.length > 1 ? ` (${members.length} allocation stacks at this line)` : "";
    out.push({
      rank: 0,
      kind: "python",
      pid: proc.pid,
      site: primary.site,
      stack: primary.frames,
      growthBytes,
      growthBytesPerSec: rate,
      liveBytes,
      liveCount,
      confidence,
      evidence: primary.judgement.reason + more,
      unreachable: summary.unreachable,
      ...(summary.note ? { retainerNote: summary.note } : {}),
      retainers: summary.retainers,
      stackId: primary.stackId,
      series: summedSeries(tl.times, members.map((m) => m.series.bytes)),
    });
  }
  for (const g of siteGroups) {
    if (g.judgement.verdict !== "leak") continue;
    const primary = g.members[0];
    const summary = summarizeRetainers(
      g.members.map((m) => ({ result: byId.get(m.stackId), liveBytes: m.liveBytes, liveCount: m.liveCount })),
      retainerSearch(proc.retainers),
    );
    out.push({
      rank: 0,
      kind: "python",
      pid: proc.pid,
      site: primary.site,
      stack: primary.frames,
      growthBytes: g.features.retainedGrowth,
      growthBytesPerSec: g.features.slope,
      liveBytes: g.members.reduce((sum, m) => sum + m.liveBytes, 0),
      liveCount: g.members.reduce((sum, m) => sum + m.liveCount, 0),
      confidence: g.judgement.confidence,
      evidence: `${g.judgement.reason} (${g.members.length} allocation stacks at this line, together)`,
      unreachable: summary.unreachable,
      ...(summary.note ? { retainerNote: summary.note } : {}),
      retainers: summary.retainers,
      stackId: primary.stackId,
      series: decimate(tl.times, g.bytes, g.bytes.length, THRESHOLDS.seriesMaxPoints),
    });
  }
  return out;
}

export interface SeriesLeakInput {
  kind: LeakReport["kind"];
  stackId: number;
  site: Frame | null;
  stack: Frame[];
  growthBytes: number;
  growthBytesPerSec: number;
  liveBytes: number;
  liveCount: number;
  confidence: number;
  evidence: string;
  retainerNote: string;
  series: [number, number][];
}

/** A leak that is not one allocation stack (native growth, growth spread over small stacks). */
export function seriesLeak(pid: number, input: SeriesLeakInput): LeakReport {
  const { retainerNote, ...rest } = input;
  return { rank: 0, pid, unreachable: false, retainerNote, retainers: [], ...rest };
}

/** Sum of several aligned site series for a chart; a stack not yet reported counts as 0, a gap holds the last value. */
export function summedSeries(times: Float64Array, columns: readonly Float64Array[]): [number, number][] {
  const n = times.length;
  const sum = new Float64Array(n);
  for (const col of columns) {
    let last = 0;
    for (let i = 0; i < n; i++) {
      const v = col[i];
      if (!Number.isNaN(v)) last = v;
      sum[i] += last;
    }
  }
  return decimate(times, sum, n, THRESHOLDS.seriesMaxPoints);
}

export function describeLeak(leak: LeakReport): string {
  const where = leak.kind === "native" ? "native memory" : frameLabel(leak.site);
  return `${where}: ${leak.evidence}`;
}
