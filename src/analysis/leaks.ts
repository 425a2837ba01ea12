// Leak entries for the report. Stacks judged "leak" that share a site (the same
// innermost user line) are one leak: their numbers are added up, and the largest
// stack stands for them.
import type { ProcessCapture, SiteSeries } from "../capture/model.js";
import { FREE_LIST, type Frame } from "../protocol/messages.js";
import type { FreeListKind, LeakReport } from "../report/model.js";
import { decimate } from "./stats/decimate.js";
import { frameLabel } from "./format.js";
import { isNoPythonFrame } from "../report/units.js";
import { siteKey } from "./frames.js";
import { explainedAt, explainedStacks } from "./explanations.js";
import { NONE_ALIVE, summarizeRetainers } from "./retainers.js";
import { indexAtTime, lastKnown } from "./stats/series.js";
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
  const explained = explainedStacks(proc);
  const answers = (members: readonly StackAnalysis[]) => retainersOf(proc, members, explained);
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
    const summary = answers(members);
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
      ...(summary.explainedAt ? { explainedAt: summary.explainedAt } : {}),
      stackId: primary.stackId,
      series: summedSeries(tl.times, members.map((m) => m.series.bytes)),
      ...freeListFields(tl, members, growthBytes),
    });
  }
  for (const g of siteGroups) {
    if (g.judgement.verdict !== "leak") continue;
    const primary = g.members[0];
    const summary = answers(g.members);
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
      ...(summary.explainedAt ? { explainedAt: summary.explainedAt } : {}),
      stackId: primary.stackId,
      series: decimate(tl.times, g.bytes, g.bytes.length, THRESHOLDS.seriesMaxPoints),
      ...freeListFields(tl, g.members, g.features.retainedGrowth),
    });
  }
  for (const leak of out)
    if (leak.reusedFromFreeList && !leak.retainers.length && (!leak.retainerNote || leak.retainerNote === NONE_ALIVE)) leak.retainerNote = REUSED_NOTE;
  return out;
}

/** A free-list leak whose blocks the exit search did not count for it (its share was judged lower then). */
const REUSED_NOTE =
  "its memory was reused from CPython's free list by objects other lines made; their paths are under those lines' leaks";

/** The stacks' retainer answers, and when the answer of the first stack that has one was taken. */
export function retainersOf(
  proc: ProcessCapture,
  members: readonly { stackId: number; liveBytes: number; liveCount: number }[],
  explained = explainedStacks(proc),
) {
  const byId = explained.byId;
  const summary = summarizeRetainers(
    members.map((m) => {
      const answer = byId.get(m.stackId);
      return { result: answer?.result, liveBytes: m.liveBytes, liveCount: m.liveCount, truncated: answer?.explanation.truncated === true };
    }),
    explained.search,
  );
  const first = members.map((m) => byId.get(m.stackId)).find((a) => a !== undefined);
  const at = summary.retainers.length || summary.unreachable ? explainedAt(proc, first) : null;
  return { ...summary, ...(at ? { explainedAt: at } : {}) };
}

/**
 * The part of some stacks' memory whose objects died onto CPython's free lists (the sampling
 * collector reports it): how much there is now, how much it grew after the warm-up, which lists.
 */
export function freeListOf(
  tl: Timeline,
  members: readonly { series: SiteSeries }[],
): { bytes: number; growth: number; kinds: FreeListKind[] } | null {
  const n = tl.times.length;
  if (n === 0) return null;
  const from = Math.min(indexAtTime(tl.times, tl.warmupSec), n - 1);
  let bytes = 0;
  let growth = 0;
  let mask = 0;
  for (const m of members) {
    const fl = m.series.freeListBytes;
    if (!fl || !m.series.freeListKinds) continue;
    mask |= m.series.freeListKinds;
    const last = lastKnown(fl);
    if (Number.isNaN(last)) continue;
    bytes += last;
    growth += last - (Number.isNaN(fl[from]) ? 0 : fl[from]);
  }
  if (!mask) return null;
  const kinds = (Object.keys(FREE_LIST) as FreeListKind[]).filter((k) => mask & FREE_LIST[k]);
  return { bytes: Math.max(0, bytes), growth, kinds };
}

/** Share of a leak's growth that, reused from free lists, marks it. */
const FREE_LIST_SHARE = 0.5;

/** Whether a leak's growth is mostly memory reused from free lists (`fl`: its freeListOf). */
export function reusesFreeLists(fl: { growth: number } | null, growthBytes: number): boolean {
  return fl !== null && fl.growth > 0 && fl.growth >= FREE_LIST_SHARE * growthBytes;
}

/**
 * A leak whose growth is mostly such memory is objects made by other lines from this site's
 * dead objects' memory (CPython reuses it without an allocation): it is marked, and ranked
 * after the leaks whose own objects grow (src/analysis/process.ts).
 */
function freeListFields(tl: Timeline, members: readonly { series: SiteSeries }[], growthBytes: number): Partial<LeakReport> {
  const fl = freeListOf(tl, members);
  if (!fl || fl.bytes <= 0) return {};
  const reused = reusesFreeLists(fl, growthBytes);
  return { freeListBytes: fl.bytes, freeLists: fl.kinds, ...(reused ? { reusedFromFreeList: true } : {}) };
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
  unattributed?: LeakReport["unattributed"];
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

/**
 * Leak order: memory reused from free lists by objects made elsewhere (reusedFromFreeList) after
 * the sites whose own objects grow, then the largest growth first.
 */
export function compareLeaks(a: LeakReport, b: LeakReport): number {
  return Number(a.reusedFromFreeList === true) - Number(b.reusedFromFreeList === true) || b.growthBytes - a.growthBytes;
}

export function describeLeak(leak: LeakReport): string {
  const where =
    leak.kind === "native"
      ? leak.site && isNoPythonFrame(leak.site) ? "native memory with no Python frame" : "native memory"
      : leak.site || !leak.tests?.length ? frameLabel(leak.site) : "a test";
  return `${where}: ${leak.evidence}`;
}
