// The Python lines that were running while memory grew, for native growth that no sampled
// allocation accounts for. A line running is not a line allocating: these are candidates with
// their share of the stack samples, never the place. Each candidate's share while RSS rose is
// set beside its share while RSS did not rise, so a line that simply runs all the time (a
// `time.sleep` in the main loop) shows as such.
import type { ProcessCapture } from "../capture/model.js";
import type { Frame } from "../protocol/messages.js";
import type { RunningCandidate } from "../report/model.js";
import { pickSite } from "./frames.js";

export interface RunningWhileGrowing {
  /** Stack samples taken in intervals where RSS rose (after `from`). */
  samples: number;
  /** Stack samples taken in the other intervals. */
  samplesFlat: number;
  /** The lines seen most while RSS rose, most first. */
  candidates: RunningCandidate[];
}

export function runningWhileGrowing(
  proc: ProcessCapture,
  rss: ArrayLike<number>,
  from: number,
  top = 3,
): RunningWhileGrowing {
  const byLine = new Map<string, { site: Frame; stack: Frame[]; rising: number; flat: number; best: number }>();
  let samples = 0;
  let samplesFlat = 0;
  for (const [stackId, hits] of proc.active) {
    let rising = 0;
    let flat = 0;
    for (const [i, h] of hits) {
      if (i < Math.max(1, from) || i >= rss.length) continue;
      const rise = rss[i] - rss[i - 1];
      if (Number.isNaN(rise)) continue;
      if (rise > 0) rising += h;
      else flat += h;
    }
    if (rising + flat === 0) continue;
    samples += rising;
    samplesFlat += flat;
    const stack = proc.stacks.get(stackId) ?? [];
    const site = pickSite(stack);
    if (!site) continue;
    const key = `${site.file}\0${site.line}\0${site.function}`;
    const entry = byLine.get(key);
    if (!entry) byLine.set(key, { site, stack, rising, flat, best: rising });
    else {
      entry.rising += rising;
      entry.flat += flat;
      if (rising > entry.best) {
        entry.best = rising;
        entry.stack = stack;
      }
    }
  }
  const candidates = [...byLine.values()]
    .filter((e) => e.rising > 0)
    .sort((a, b) => b.rising - a.rising || b.flat - a.flat)
    .slice(0, top)
    .map((e) => ({
      site: e.site,
      stack: e.stack,
      samples: e.rising,
      share: samples > 0 ? e.rising / samples : 0,
      shareWhileFlat: samplesFlat > 0 ? e.flat / samplesFlat : null,
    }));
  return { samples, samplesFlat, candidates };
}
