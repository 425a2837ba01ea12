// Verdicts for the shapes memory takes in real programs, on synthetic captures:
// growth that is a leak, and growth that only looks like one.
import { describe as group, expect, it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import type { Report } from "../../src/report/model.js";
import { at, shape, synthCapture, type SynthProcess, type SynthSite } from "../helpers/synthetic.js";

const MB = 1e6;
const KB = 1e3;

function run(spec: SynthProcess): Report {
  return analyze(synthCapture(spec));
}

/** One stack at main.py:20 with the given curve, beside a flat 1 MB stack at main.py:30. */
function one(bytes: SynthSite["bytes"], extra: Partial<SynthProcess> = {}): Report {
  return run({ sites: [{ frames: [at(20)], bytes }, { frames: [at(30)], bytes: shape.flat(1 * MB) }], ...extra });
}

group("leaks", () => {
  it("a linear leak is a leak, at its line, with evidence in words", () => {
    const r = one(shape.linear(1 * MB, 1.5 * MB));
    expect(r.verdict).toBe("leak");
    expect(r.leaks).toHaveLength(1);
    const top = r.leaks[0];
    expect(top.site?.line).toBe(20);
    expect(top.evidence).toMatch(/^grew in 1[12] of 12 intervals, \+1\.4 MiB\/s, no plateau$/);
    expect(top.growthBytesPerSec).toBeCloseTo(1.5 * MB, -4);
    expect(top.growthBytes).toBeGreaterThan(14 * MB);
    expect(top.liveBytes).toBeCloseTo(1 * MB + 1.5 * MB * 12, -3);
    expect(top.confidence).toBeGreaterThan(0.6);
    expect(top.series.at(-1)?.[0]).toBe(12);
  });

  it("a leak under sample-to-sample noise is still a leak", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = one(shape.noisy(shape.linear(5 * MB, 1 * MB), 0.3 * MB, seed));
      expect(r.verdict, `seed ${seed}: ${r.reason}`).toBe("leak");
      expect(r.leaks[0].site?.line).toBe(20);
    }
  });

  it("a step-wise leak (bursts every few seconds) is a leak, whatever the phase", () => {
    for (const every of [2, 2.5, 3]) {
      for (let offset = 0.1; offset < every; offset += every / 4) {
        const r = one(shape.steps(1 * MB, 2 * MB, every, offset));
        expect(r.verdict, `every ${every} s from ${offset}: ${r.reason}`).toBe("leak");
      }
    }
  });

  it("a slow leak (20 KB/s) beside heavy churn is found, per stack", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = run({
        sites: [
          { frames: [at(40, "churn")], bytes: shape.noisy(shape.flat(10 * MB), 5 * MB, seed) },
          { frames: [at(41, "requests")], bytes: shape.uniform(0, 10 * MB, seed + 100) },
          { frames: [at(20, "remember")], bytes: shape.linear(100 * KB, 20 * KB) },
        ],
        other: shape.noisy(shape.flat(5 * MB), 2 * MB, seed + 200),
      });
      expect(r.verdict, r.reason).toBe("leak");
      expect(r.leaks).toHaveLength(1);
      expect(r.leaks[0].site?.line).toBe(20);
      expect(r.leaks[0].evidence).toMatch(/\+19\.5 KiB\/s/);
    }
  });

  it("a 50 KB/s leak under ±5 MB of churn in the heap total is found", () => {
    const r = run({
      sites: [
        { frames: [at(40)], bytes: shape.noisy(shape.flat(8 * MB), 5 * MB, 4) },
        { frames: [at(20)], bytes: shape.linear(0, 50 * KB) },
      ],
    });
    expect(r.verdict).toBe("leak");
    expect(r.leaks[0].site?.line).toBe(20);
  });

  it("a sawtooth whose floor keeps rising is a leak", () => {
    const r = one(shape.sum(shape.sawtooth(0, 6 * MB, 2, 0.3), shape.linear(0, 400 * KB)));
    expect(r.verdict, r.reason).toBe("leak");
    expect(r.leaks[0].site?.line).toBe(20);
  });

  it("in a long run, a leak that began late but has gone on for long is a leak", () => {
    const r = run({
      seconds: 3 * 3600,
      interval: 5,
      sites: [{ frames: [at(20)], bytes: (t) => 5 * MB + Math.max(0, t - 2 * 3600) * 2e3 }],
    });
    expect(r.verdict, r.reason).toBe("leak");
    expect(r.processes[0].warmupSec).toBe(60);
  });

  it("in a long run, a cache filled over the first 20 minutes is not a leak", () => {
    const r = run({ seconds: 3 * 3600, interval: 5, sites: [{ frames: [at(20)], bytes: shape.fillThenFlat(0, 20e3, 1200) }] });
    expect(r.verdict, r.reason).toBe("no-leak");
  });

  it("a leak seen by a sampling collector (growth in sampled steps) is found", () => {
    let found = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const r = run({
        collector: "sampling",
        sampleBytes: 256 * 1024,
        sites: [{ frames: [at(20)], bytes: shape.sampledKept(shape.linear(2 * MB, 1.5 * MB), 256 * 1024, seed) }],
      });
      expect(r.verdict).not.toBe("no-leak");
      if (r.verdict === "leak") found++;
    }
    expect(found).toBeGreaterThanOrEqual(18);
  });
});

group("growth that is not a leak", () => {
  it("warm-up: memory taken in the first second, then flat", () => {
    const r = one((t) => (t < 1 ? 12 * MB : 12.5 * MB));
    expect(r.verdict).toBe("no-leak");
    expect(r.leaks).toEqual([]);
  });

  it("a bounded cache filling for 2–8 s, then flat", () => {
    for (let until = 2; until <= 8; until += 0.5) {
      const r = one(shape.fillThenFlat(0, (20 * MB) / until, until));
      expect(r.verdict, `filled until ${until} s: ${r.reason}`).toBe("no-leak");
    }
    const r = one(shape.fillThenFlat(0, 7 * MB, 3));
    expect(r.processes[0].reason).toMatch(/main\.py:20 \(handle\): grew by .* until .*, then stayed flat for .* \(bounded growth/);
  });

  it("a bounded cache filling under noise", () => {
    for (const sigma of [0.3, 1]) {
      for (let seed = 1; seed <= 50; seed++) {
        const r = one(shape.noisy(shape.fillThenFlat(0, 6 * MB, 3), sigma * MB, seed));
        expect(r.verdict, `σ ${sigma} MB, seed ${seed}: ${r.reason}`).toBe("no-leak");
      }
    }
  });

  it("sawtooths of different periods and phases, including runs that end mid-rise", () => {
    let midRise = 0;
    for (let period = 0.7; period <= 5; period += 0.3) {
      for (let phase = 0; phase < period; phase += period / 5) {
        const curve = shape.sawtooth(200 * KB, 6 * MB, period, phase);
        if (curve(12, 23) > 3 * MB) midRise++;
        const r = one(curve);
        expect(r.verdict, `period ${period.toFixed(1)} s, phase ${phase.toFixed(2)}: ${r.reason}`).toBe("no-leak");
      }
    }
    expect(midRise).toBeGreaterThan(10);
  });

  it("a noisy sawtooth", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = one(shape.noisy(shape.sawtooth(1 * MB, 6 * MB, 1.3 + seed / 10, seed / 7), 0.2 * MB, seed));
      expect(r.verdict, r.reason).toBe("no-leak");
    }
  });

  it("the sawtooth reason says what happened", () => {
    const r = one(shape.sawtooth(0, 6 * MB, 2, 0.5));
    expect(r.processes[0].reason).toMatch(/rose by up to .* and fell back \d+ times \(about every 2\.0 s\); its floor stayed at/);
  });

  it("churn: random levels around a constant, in several stacks and the heap", () => {
    for (let seed = 1; seed <= 100; seed++) {
      const r = run({
        sites: [
          { frames: [at(20)], bytes: shape.uniform(0, 10 * MB, seed) },
          { frames: [at(21)], bytes: shape.noisy(shape.flat(10 * MB), 3 * MB, seed + 1000) },
        ],
        other: shape.noisy(shape.flat(4 * MB), 1 * MB, seed + 2000),
      });
      expect(r.verdict, `seed ${seed}: ${r.reason}`).toBe("no-leak");
    }
  });

  it("a sampling collector's estimate noise does not make leaks", () => {
    for (let seed = 1; seed <= 100; seed++) {
      const sampleBytes = 512 * 1024;
      const r = run({
        collector: "sampling",
        sampleBytes,
        sites: [0.1, 0.5, 2, 8, 30].map((level, k) => ({
          frames: [at(20 + k)],
          bytes: shape.sampled(shape.flat(level * MB), sampleBytes, seed * 10 + k),
        })),
        other: shape.sampled(shape.flat(3 * MB), sampleBytes, seed + 999),
      });
      expect(r.verdict, `seed ${seed}: ${r.reason}`).toBe("no-leak");
    }
  });

  it("a bounded LRU under a sampling collector (turnover noise)", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = run({
        collector: "sampling",
        sites: [
          { frames: [at(20)], bytes: shape.sampled(shape.fillThenFlat(0, 16 * MB, 0.5), 512 * 1024, seed) },
          { frames: [at(21)], bytes: shape.sampled(shape.uniform(0, 8 * MB, seed + 5), 512 * 1024, seed + 9) },
        ],
      });
      expect(r.verdict, `seed ${seed}: ${r.reason}`).toBe("no-leak");
    }
  });
});

group("inconclusive", () => {
  it("growth only at the very end asks for a longer run", () => {
    const r = one((t) => (t > 10 ? 2 * MB + (t - 10) * 3 * MB : 2 * MB));
    expect(r.verdict).toBe("inconclusive");
    expect(r.reason).toMatch(/only in the last .*run longer/);
    expect(r.leaks).toEqual([]);
  });

  it("growth that stopped only for the last couple of seconds asks for a longer run", () => {
    const r = one(shape.fillThenFlat(0, 2 * MB, 9.5));
    expect(r.verdict).toBe("inconclusive");
    expect(r.reason).toMatch(/flat for only the last .*run longer/);
  });

  it("a run shorter than 3 s is inconclusive and says to run longer", () => {
    const r = run({ seconds: 2.5, sites: [{ bytes: shape.linear(0, 5 * MB) }] });
    expect(r.verdict).toBe("inconclusive");
    expect(r.reason).toMatch(/only 5 samples over .*at least 3 s/);
    expect(r.processes[0].verdict).toBe("inconclusive");
  });

  it("a short run that grew hundreds of MiB steadily is judged: the evidence scales with the growth", () => {
    const r = run({ seconds: 2.4, interval: 0.3, sites: [{ bytes: shape.linear(0, 250 * MB) }] });
    expect(r.verdict, r.reason).toBe("leak");
    // The same run with a small, noisy rise still asks for a longer run.
    const small = run({ seconds: 2.4, interval: 0.3, sites: [{ bytes: shape.noisy(shape.linear(1 * MB, 50 * KB), 40 * KB, 3) }] });
    expect(small.verdict, small.reason).not.toBe("leak");
  });

  it("fewer than 6 samples is inconclusive even over a long time", () => {
    const r = run({ seconds: 10, interval: 2, sites: [{ bytes: shape.linear(0, 5 * MB) }] });
    expect(r.verdict).toBe("inconclusive");
  });
});
