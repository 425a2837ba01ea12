// The Python stack that was running while memory grew: each sample's RSS increase is
// credited to the stacks seen executing since the previous sample, in proportion to
// how often each was seen. Used to point native growth at a Python line.
import type { ProcessCapture } from "../capture/model.js";

export function busiestStackWhileGrowing(proc: ProcessCapture, rss: ArrayLike<number>, from: number): number | null {
  let best: number | null = null;
  let bestScore = 0;
  for (const [stackId, hits] of proc.active) {
    let score = 0;
    for (const [i, h] of hits) {
      if (i < Math.max(1, from) || i >= rss.length) continue;
      const rise = rss[i] - rss[i - 1];
      if (rise > 0) score += h * rise;
    }
    if (score > bestScore) {
      bestScore = score;
      best = stackId;
    }
  }
  return best;
}
