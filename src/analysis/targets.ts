// Which stacks the host asks the agent to find retainers for when the target exits:
// the leak candidates, most important first, one per allocation site before any
// second stack of the same site. Runs while the target waits, so it only judges
// series (linear in the capture) and builds no report.
import type { ProcessCapture, SiteSeries } from "../capture/model.js";
import { siteKey } from "./frames.js";
import { beforeShutdown, freedAfterCut, workingCut } from "./shutdown.js";
import { THRESHOLDS } from "./thresholds.js";
import { judgeSiteGroups } from "./site-groups.js";
import { analyzeStacks, timeline, type StackAnalysis } from "./stacks.js";
import { judgeTests } from "./test-runs.js";
import { freeListOf, reusesFreeLists } from "./leaks.js";

/** `confidentOnly`: only stacks judged to leak (a live explanation), not the doubtful ones too. */
export function retainerTargets(proc: ProcessCapture, max = 5, confidentOnly = false): number[] {
  if (max <= 0) return [];
  const out = proc.samples.length ? byGrowth(proc, max, confidentOnly) : [];
  // A pytest session: the stacks where tests kept memory run after run come first.
  const tests = judgeTests(proc);
  if (tests) {
    const first = tests.tests.filter((t) => t.verdict === "leak" && t.sites.length).map((t) => t.sites[0].stackId);
    return [...new Set([...first, ...out])].slice(0, max);
  }
  return out;
}

/** The run as judged: once its shutdown began, as it was at work (analysis/shutdown.ts). */
function judged(whole: ProcessCapture): { proc: ProcessCapture; cut: ReturnType<typeof workingCut>; working: boolean } {
  // Memory that stays flat while it exits (a search at the mark, slow handlers) is no plateau.
  const cut = workingCut(whole);
  const working = cut && cut.index > 0 ? beforeShutdown(whole, cut.index) : null;
  return working && !timeline(working).tooShort ? { proc: working, cut, working: true } : { proc: whole, cut, working: false };
}

function byGrowth(whole: ProcessCapture, max: number, confidentOnly: boolean): number[] {
  const { proc, cut, working } = judged(whole);
  // A stack whose memory the shutdown already released has nothing left to search for (a search now
  // would find strays, and its answer would stand for the one taken before the cleanup).
  const gone = new Set<number>();
  if (cut && working) {
    for (const s of whole.sites.values()) {
      const { before, freed } = freedAfterCut(whole, s, cut);
      if (freed > 0 && freed >= THRESHOLDS.exitFreedShare * before) gone.add(s.stackId);
    }
  }
  const tl = timeline(proc);
  const stacks = analyzeStacks(proc, tl);
  const growth = (s: StackAnalysis) => s.features.retainedGrowth;
  const grew = (s: StackAnalysis) => growth(s) >= s.features.minGrowth;
  // Stacks that leak only together with others at their line count as leaking.
  const inLeakingGroup = new Set<number>();
  for (const g of judgeSiteGroups(proc, tl, stacks)) {
    if (g.judgement.verdict === "leak") for (const m of g.members) if (growth(m) > 0) inLeakingGroup.add(m.stackId);
  }
  const tier = (s: StackAnalysis) =>
    s.judgement.verdict === "leak" || inLeakingGroup.has(s.stackId)
      ? 0
      : s.judgement.verdict === "unknown" && grew(s)
        ? 1
        : grew(s)
          ? 2
          : 3;
  // Stacks judged not to leak get no search: a run without leak candidates pays no heap walk.
  const ranked = stacks
    .filter((s) => tier(s) < 2 && !gone.has(s.stackId))
    .sort((a, b) => tier(a) - tier(b) || growth(b) - growth(a));
  // Within each tier: one stack per site first, then the other stacks of those sites.
  const out: number[] = [];
  const sites = new Set<string>();
  for (let t = 0; t < (confidentOnly ? 1 : 2) && out.length < max; t++) {
    const rest: number[] = [];
    for (const s of ranked) {
      if (tier(s) !== t) continue;
      const key = siteKey(s.site) ?? `#${s.stackId}`;
      if (sites.has(key)) rest.push(s.stackId);
      else {
        sites.add(key);
        out.push(s.stackId);
      }
    }
    out.push(...rest);
  }
  return out.slice(0, max);
}

/**
 * Native stacks (malloc blocks sampled by the shim) whose Python owners the host asks the agent
 * to find, the largest growth first: those judged to leak (and, unless `confidentOnly`, those
 * still in doubt that grew), as the report judges them (process.ts).
 */
export function nativeRetainerTargets(proc: ProcessCapture, max = 5, confidentOnly = false): number[] {
  if (max <= 0 || proc.nativeSites.size === 0 || proc.samples.length === 0) return [];
  const tl = timeline(proc);
  if (tl.tooShort) return [];
  const growth = (s: StackAnalysis) => s.features.retainedGrowth;
  return analyzeStacks(proc, tl, proc.nativeSites)
    .filter(
      (s) =>
        s.judgement.verdict === "leak" ||
        (!confidentOnly && s.judgement.verdict === "unknown" && growth(s) >= s.features.minGrowth),
    )
    .sort((a, b) => growth(b) - growth(a))
    .slice(0, max)
    .map((s) => s.stackId);
}

/**
 * A stack's free-listed memory is searched at half the share of its growth that marks its leak: a
 * leak the report marks (judged on its whole site, maybe on another stretch of the run) never
 * misses its paths, and a stack that only borders on it shows where that memory went too.
 */
const SEARCH_FREE_LIST_SHARE = 0.5;

/**
 * Of some Python stacks asked about, those whose growth is in good part memory that objects made by
 * other lines reuse from CPython's free lists (the report marks a leak that is mostly such memory
 * `reusedFromFreeList`): for them
 * the search counts the objects in those blocks (they show where the memory went); for the others
 * an object made elsewhere from a dead one's memory is not theirs.
 */
export function freeListTargets(whole: ProcessCapture, stackIds: readonly number[]): number[] {
  if (stackIds.length === 0 || whole.samples.length === 0) return [];
  const { proc } = judged(whole);
  const asked = new Map<number, SiteSeries>();
  for (const id of stackIds) {
    const s = proc.sites.get(id);
    if (s?.freeListBytes && s.freeListKinds) asked.set(id, s);
  }
  if (asked.size === 0) return [];
  const tl = timeline(proc);
  if (tl.tooShort) return [];
  return analyzeStacks(proc, tl, asked)
    .filter((s) => reusesFreeLists(freeListOf(tl, [s]), s.features.retainedGrowth * SEARCH_FREE_LIST_SHARE))
    .map((s) => s.stackId);
}
