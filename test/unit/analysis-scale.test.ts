// Scale, not speed: an hour-long capture (10,000 samples) with 2,000 allocation stacks
// is analysed correctly, and the bound only catches an accidental O(n²) (which would take
// minutes); it is far from the ~1–2 s this takes, so a loaded machine cannot fail it.
const QUADRATIC_GUARD_MS = 20_000;
import { describe, expect, it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import { retainerTargets } from "../../src/analysis/targets.js";
import type { Capture, SamplePoint, SiteSeries } from "../../src/capture/model.js";
import { at, gauss, rng, synthCapture } from "../helpers/synthetic.js";

const SAMPLES = 10_000;
const SITES = 2_000;
const MB = 1e6;

function bigCapture(): Capture {
  const c = synthCapture({ seconds: 0 });
  const proc = c.processes[0];
  const r = rng(11);
  const t = (i: number) => (i + 1) * 0.5;
  const heap = new Float64Array(SAMPLES);
  for (let s = 0; s < SITES; s++) {
    const stackId = s + 1;
    proc.stacks.set(stackId, [at(1000 + s), at(5, "main")]);
    const bytes = new Float64Array(SAMPLES);
    const count = new Float64Array(SAMPLES);
    const kind = s % 100; // 1% leaks, 2% sawtooths, 5% noisy churn, 2% plateaus, the rest small and steady
    const appear = s % 7 === 0 ? Math.floor(r() * SAMPLES) : 0;
    for (let i = 0; i < SAMPLES; i++) {
      let v: number;
      if (kind === 0) v = 1000 * t(i);
      else if (kind <= 2) v = 4 * MB * ((t(i) % (60 + s)) / (60 + s));
      else if (kind <= 7) v = 5 * MB + MB * gauss(r);
      else if (kind <= 9) v = 2 * MB * Math.min(1, t(i) / 600);
      else v = 20_000 + 2000 * gauss(r);
      bytes[i] = i < appear ? Number.NaN : Math.max(0, v);
      count[i] = bytes[i] / 50;
      if (i >= appear) heap[i] += bytes[i];
    }
    proc.sites.set(stackId, { stackId, bytes, count } satisfies SiteSeries);
  }
  const samples: SamplePoint[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    samples.push({ seq: i, t: t(i), rss: 50 * MB + 1.2 * heap[i], heap: heap[i], overhead: 0, gcEnabled: true, otherBytes: 0, cost: 0 });
  }
  proc.samples = samples;
  return c;
}

describe("scale", () => {
  it(`analyses ${SAMPLES} samples × ${SITES} stacks`, () => {
    const capture = bigCapture();
    const started = performance.now();
    const report = analyze(capture);
    const elapsed = performance.now() - started;
    expect(report.verdict).toBe("leak");
    expect(report.leaks).toHaveLength(10);
    expect(report.leaks.every((l) => (l.site!.line - 1000) % 100 === 0)).toBe(true);
    expect(report.sites).toHaveLength(SITES);
    expect(elapsed).toBeLessThan(QUADRATIC_GUARD_MS);

    const t0 = performance.now();
    const targets = retainerTargets(capture.processes[0]);
    expect(targets).toHaveLength(5);
    expect(performance.now() - t0).toBeLessThan(QUADRATIC_GUARD_MS);
  });
});
