// A leak can be spread over many allocation stacks that end at the same user line
// (a helper called from many places), each too small to judge alone. Stacks that
// share a site and where none leaks alone are summed and judged together.
import type { ProcessCapture } from "../capture/model.js";
import { describe, type SeriesFeatures } from "./stats/features.js";
import { isImportSystem, siteKey } from "./frames.js";
import { judgeSeries, type Judgement } from "./judge.js";
import { knownPoints } from "./stats/series.js";
import type { StackAnalysis, Timeline } from "./stacks.js";

export interface SiteGroup {
  key: string;
  /** Largest retained growth first. */
  members: StackAnalysis[];
  features: SeriesFeatures;
  judgement: Judgement;
  /** Summed live bytes per sample (a stack not yet reported counts as 0, a gap holds its last value). */
  bytes: Float64Array;
}

export function judgeSiteGroups(proc: ProcessCapture, tl: Timeline, stacks: readonly StackAnalysis[]): SiteGroup[] {
  const bySite = new Map<string, StackAnalysis[]>();
  for (const s of stacks) {
    const key = siteKey(s.site);
    if (!key || isImportSystem(s.frames)) continue; // modules being loaded, summed or not
    const list = bySite.get(key);
    if (list) list.push(s);
    else bySite.set(key, [s]);
  }
  const out: SiteGroup[] = [];
  const n = tl.times.length;
  for (const [key, members] of bySite) {
    if (members.length < 2 || members.some((m) => m.judgement.verdict === "leak")) continue;
    const bytes = new Float64Array(n);
    for (const m of members) {
      let last = 0;
      const col = m.series.bytes;
      for (let i = 0; i < n; i++) {
        if (!Number.isNaN(col[i])) last = col[i];
        bytes[i] += last;
      }
    }
    const features = describe(knownPoints(tl.times, bytes), {
      warmupSec: tl.warmupSec,
      sampleBytes: proc.collector.sampleBytes || 0,
    });
    if (features.negligible) continue;
    members.sort((a, b) => b.features.retainedGrowth - a.features.retainedGrowth);
    out.push({ key, members, features, judgement: judgeSeries(features), bytes });
  }
  return out;
}
