// A process's threads over the run (src/analysis/threads.ts): piling up is told from a pool that
// fills and stays full, from threads that all ended, and from a run with no counts at all.
import { describe, expect, it } from "vitest";
import type { SamplePoint } from "../../src/capture/model.js";
import { threadFigures } from "../../src/analysis/threads.js";
import { threadsWorthShowing, threadWords } from "../../src/report/units.js";

function run(counts: (number | undefined)[], every = 0.5): SamplePoint[] {
  return counts.map((threads, i) => ({
    seq: i + 1, t: (i + 1) * every, rss: 1, heap: 1, overhead: 0, gcEnabled: true, otherBytes: 0, cost: 0,
    ...(threads === undefined ? {} : { threads }),
  }));
}

describe("thread figures", () => {
  it("calls threads started and never ended growing, with their rate", () => {
    const f = threadFigures(run(Array.from({ length: 20 }, (_, i) => 2 + 40 * i)), 1)!;
    expect(f).toMatchObject({ start: 2, end: 762, peak: 762, growing: true });
    expect(f.ratePerSec).toBeCloseTo(80, 6);
    expect(threadWords(f)).toBe("2 → 762, still growing (+80/s): threads are started and never end");
    expect(threadsWorthShowing(f)).toBe(true);
  });

  it("does not call a pool that fills up and stays full growing", () => {
    const f = threadFigures(run([1, 5, 12, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17]), 1)!;
    expect(f).toMatchObject({ start: 1, end: 17, peak: 17, growing: false });
    expect(threadWords(f)).toBe("1 → 17");
    expect(threadsWorthShowing(f)).toBe(true);
  });

  it("does not call threads that all ended growing, and shows their peak", () => {
    const f = threadFigures(run([1, 10, 20, 30, 40, 50, 60, 70, 1]), 0)!;
    expect(f.growing).toBe(false);
    expect(threadWords(f)).toBe("1 → 1 (peak 70)");
  });

  it("needs a few more threads than a steady program's helpers", () => {
    const f = threadFigures(run([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]), 0)!;
    expect(f.growing).toBe(false);
    expect(threadsWorthShowing(f)).toBe(false);
  });

  it("is absent when the agent sent no counts (an older capture), and reads partial ones", () => {
    expect(threadFigures(run([undefined, undefined, undefined]), 0)).toBeUndefined();
    expect(threadFigures([], 0)).toBeUndefined();
    expect(threadFigures(run([undefined, 3, 3]), 0)).toMatchObject({ start: 3, end: 3, growing: false });
  });
});
