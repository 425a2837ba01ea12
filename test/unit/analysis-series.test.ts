// The trend tools under the rules: envelopes, slopes, the trend test, slices,
// plateaus, cycles and noise, on hand-made series.
import { describe, expect, it } from "vitest";
import { findCycles } from "../../src/analysis/stats/cycles.js";
import { bestHinge } from "../../src/analysis/stats/hinge.js";
import { decimate } from "../../src/analysis/stats/decimate.js";
import { lowerEnvelope, upperEnvelope } from "../../src/analysis/stats/envelope.js";
import { jitter, typicalRise } from "../../src/analysis/stats/noise.js";
import { finalPlateau } from "../../src/analysis/stats/plateau.js";
import { knownPoints, type Series } from "../../src/analysis/stats/series.js";
import { emptySlices, grewIn, slice } from "../../src/analysis/stats/slices.js";
import { describe as describeSeries } from "../../src/analysis/stats/features.js";
import { leastSquares, mannKendallZ, theilSen } from "../../src/analysis/stats/slope.js";
import { gauss, rng } from "../helpers/synthetic.js";

function series(values: number[], dt = 0.5): Series {
  const t = Float64Array.from(values, (_, i) => (i + 1) * dt);
  return { t, x: Float64Array.from(values), n: values.length };
}

function range(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

describe("envelopes", () => {
  it("lower envelope is the suffix minimum, upper the prefix maximum", () => {
    expect([...lowerEnvelope([3, 1, 4, 1, 5, 9, 2, 6])]).toEqual([1, 1, 1, 1, 2, 2, 2, 6]);
    expect([...upperEnvelope([3, 1, 4, 1, 5, 9, 2, 6])]).toEqual([3, 3, 4, 4, 5, 9, 9, 9]);
  });
});

describe("slopes and trend test", () => {
  const t = range(20, (i) => i);
  it("Theil–Sen ignores a few wild points; least squares does not", () => {
    const x = range(20, (i) => 2 * i);
    x[3] = 500;
    x[15] = -400;
    expect(theilSen(t, x)).toBeCloseTo(2, 5);
    expect(Math.abs(leastSquares(t, x) - 2)).toBeGreaterThan(1);
  });

  it("subsamples long inputs and still finds the slope", () => {
    const tt = range(10_000, (i) => i * 0.5);
    const x = range(10_000, (i) => 1000 * i * 0.5 + 7);
    expect(theilSen(tt, x)).toBeCloseTo(1000, 3);
  });

  it("Mann–Kendall is large for monotone rises and steps, small for noise, 0 for constants", () => {
    expect(mannKendallZ(range(13, (i) => i))).toBeGreaterThan(4);
    expect(mannKendallZ(range(12, (i) => Math.floor(i / 3)))).toBeGreaterThan(3);
    expect(mannKendallZ(range(13, () => 5))).toBe(0);
    const r = rng(7);
    let big = 0;
    for (let k = 0; k < 200; k++) if (Math.abs(mannKendallZ(range(13, () => gauss(r)))) > 2.5) big++;
    expect(big).toBeLessThan(8);
  });
});

describe("known points", () => {
  it("counts leading NaN (not yet reported) as 0 and skips later gaps", () => {
    const s = knownPoints([1, 2, 3, 4, 5, 6], [NaN, NaN, 10, NaN, 12, 13]);
    expect([...s.x.subarray(0, s.n)]).toEqual([0, 0, 10, 12, 13]);
    expect([...s.t.subarray(0, s.n)]).toEqual([1, 2, 3, 5, 6]);
  });
});

describe("slices", () => {
  it("floors ignore upward spikes and the retained floor is monotone", () => {
    const x = range(26, (i) => i * 10 + (i % 2 ? 1000 : 0));
    const sl = slice(series(x), 13);
    expect(sl.k).toBe(13);
    expect([...sl.floor]).toEqual(range(13, (j) => j * 20));
    for (let j = 1; j < sl.k; j++) expect(sl.retained[j]).toBeGreaterThanOrEqual(sl.retained[j - 1]);
    expect(grewIn(sl, 5)).toBe(12);
  });

  it("features judged with a shared scratch equal those judged alone, and own their slices", () => {
    const r = rng(7);
    const scratch = emptySlices(64);
    const cases = [
      range(240, (i) => 50_000 + gauss(r) * 2000), // still: negligible
      range(240, (i) => 10_000 + i * 4096 + gauss(r) * 3000), // grows
      range(90, (i) => (i % 30) * 40_000), // sawtooth
      range(240, (i) => 1e6 + gauss(r) * 20), // still, at a high level
    ];
    const kept = [];
    for (const x of cases) {
      const alone = describeSeries(series(x), { warmupSec: 10, sampleBytes: 32768 });
      const shared = describeSeries(series(x), { warmupSec: 10, sampleBytes: 32768, scratch });
      const { slices: a, ...restAlone } = alone;
      const { slices: b, ...restShared } = shared;
      expect(restShared).toEqual(restAlone);
      if (alone.negligible) expect(b.k).toBe(0);
      else expect([...b.floor]).toEqual([...a.floor]);
      kept.push(shared);
    }
    // A later series written into the scratch does not change an earlier one's slices.
    const grows = kept[1];
    const before = [...grows.slices.floor];
    describeSeries(series(range(240, () => 0)), { warmupSec: 10, sampleBytes: 32768, scratch });
    expect([...grows.slices.floor]).toEqual(before);
  });
});

describe("plateau", () => {
  it("a fill that stops has a long final plateau and no pauses", () => {
    const x = range(24, (i) => Math.min(i, 6) * 1e6);
    const p = finalPlateau(slice(series(x)), 1e4);
    expect(p.seconds).toBeGreaterThan(8);
    expect(p.longestPauseSec).toBe(0);
  });

  it("a step-wise rise pauses between steps as long as its final flat stretch", () => {
    const x = range(24, (i) => Math.floor((i * 0.5) / 3) * 1e6);
    const p = finalPlateau(slice(series(x)), 1e4);
    expect(p.longestPauseSec).toBeGreaterThan(0);
    expect(p.seconds).toBeLessThanOrEqual(1.5 * p.longestPauseSec);
  });
});

describe("hinge", () => {
  it("fits 'rise, then flat' far better than a line for a fill that stops, and not for a steady rise", () => {
    const t = range(13, (i) => i + 0.5);
    const fill = bestHinge(t, range(13, (i) => Math.min(i, 4) * 1e6), 13, 3)!;
    expect(fill.tBreak).toBeCloseTo(4.5, 5);
    expect(fill.slope).toBeCloseTo(1e6, 0);
    expect(fill.sse).toBeLessThan(0.01 * fill.sseLine);
    const steady = bestHinge(t, range(13, (i) => i * 1e6), 13, 3)!;
    expect(steady.sse).toBeGreaterThan(steady.sseLine);
  });
});

describe("cycles", () => {
  it("finds each flush of a sawtooth, its troughs and peaks", () => {
    const x = range(24, (i) => ((i % 4) + 1) * 1e6); // 1,2,3,4 MB then flush, period 2 s
    const c = findCycles(series(x), 2e6);
    expect(c.drops).toBe(5);
    expect(c.periodSec).toBeCloseTo(2, 5);
    expect([...c.troughX]).toEqual(range(6, () => 1e6));
    expect([...c.peakX]).toEqual(range(6, () => 4e6));
  });

  it("finds no cycles in a steady rise", () => {
    expect(findCycles(series(range(24, (i) => i * 1e5)), 1e5).drops).toBe(0);
  });
});

describe("noise", () => {
  it("jitter estimates the σ of sample-to-sample noise and ignores a steady trend", () => {
    const r = rng(3);
    const noisy = series(range(2000, (i) => i * 1000 + 5000 * gauss(r)));
    expect(jitter(noisy)).toBeGreaterThan(4000);
    expect(jitter(noisy)).toBeLessThan(6000);
    expect(jitter(series(range(100, (i) => i * 1000)))).toBe(0);
    expect(typicalRise(series(range(100, (i) => i * 1000)))).toBe(1000);
  });
});

describe("decimate", () => {
  it("thins a long series to the limit and keeps its extremes", () => {
    const t = range(10_000, (i) => i);
    const x = range(10_000, (i) => (i === 4321 ? 99 : i === 777 ? -5 : 1));
    const out = decimate(t, x, t.length, 1000);
    expect(out.length).toBeLessThanOrEqual(1000);
    expect(out.some(([, v]) => v === 99)).toBe(true);
    expect(out.some(([, v]) => v === -5)).toBe(true);
    for (let i = 1; i < out.length; i++) expect(out[i][0]).toBeGreaterThan(out[i - 1][0]);
  });
});
