// Native growth: RSS that grows without the Python heap is reported as native memory,
// never pointed at a line merely running while it grew (those are candidates only); RSS that
// follows the heap is not.
import { describe, expect, it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import { renderTerminal } from "../../src/report/terminal.js";
import { at, lib, shape, synthCapture } from "../helpers/synthetic.js";

const MB = 1e6;

describe("native growth", () => {
  it("RSS growing with a flat heap is a native leak; with no sampled allocation it names no line, only what ran", () => {
    const r = analyze(
      synthCapture({
        sites: [{ frames: [at(20)], bytes: shape.flat(8 * MB) }],
        rss: (t) => 30 * MB + 1.5 * MB * t,
        active: [
          { frames: [lib("json/decoder.py", 353, "raw_decode"), at(40, "decode")], hits: () => 5 },
          { frames: [at(50, "idle")], hits: (_t, i) => (i % 4 === 0 ? 2 : 0) },
        ],
      }),
    );
    expect(r.verdict).toBe("leak");
    const native = r.leaks.find((l) => l.kind === "native");
    expect(native).toBeDefined();
    // A line running is not a line allocating: no site, no stack.
    expect(native!.site).toBeNull();
    expect(native!.stack).toEqual([]);
    expect(native!.stackId).toBe(-1);
    expect(native!.evidence).toMatch(/^RSS grew in \d+ of \d+ intervals, \+1\.4 MiB\/s, while the Python heap grew \+0 B\/s/);
    expect(native!.evidence).toMatch(/no allocation was sampled for it, so no line is named/);
    expect(native!.unattributed!.why).toBe("C allocations were not sampled: the malloc shim was not loaded");
    expect(native!.evidence).not.toMatch(/most often running/);
    expect(native!.evidence).toMatch(/only weak evidence of where: main\.py:40 \(decode\) was running in 9\d% of \d+ stack samples while RSS rose$/);
    const u = native!.unattributed!;
    expect(u.evidence).toBe("weak");
    expect(u.bytesPerSec).toBeCloseTo(1.5 * MB, -5);
    expect(u.toSec).toBeGreaterThan(u.fromSec);
    expect(u.candidates.map((c) => c.site.line)).toEqual([40, 50]);
    expect(u.candidates[0].stack[0].file).toMatch(/json\/decoder\.py$/);
    expect(u.candidates[0].share + u.candidates[1].share).toBeCloseTo(1, 6);
    expect(u.candidates[0].samples).toBeGreaterThan(u.candidates[1].samples);
    expect(native!.growthBytesPerSec).toBeCloseTo(1.5 * MB, -5);
    expect(native!.retainers).toEqual([]);
    expect(native!.retainerNote).toMatch(/not Python objects/);
    expect(r.leaks.filter((l) => l.kind === "python")).toEqual([]);
  });

  it("a line that runs as much while RSS is flat shows its share both ways (a sleep in the main loop)", () => {
    const capture = synthCapture({
      sites: [{ frames: [at(20)], bytes: shape.flat(8 * MB) }],
      // RSS rises in every other interval only.
      rss: (_t, i) => 30 * MB + 3 * MB * Math.floor((i + 1) / 2),
      active: [{ frames: [at(25, "main")], hits: () => 4 }],
    });
    capture.processes[0].collector.nativeSampling = true; // the shim ran and saw none of it
    const r = analyze(capture);
    const native = r.leaks.find((l) => l.kind === "native")!;
    expect(native.site).toBeNull();
    const u = native.unattributed!;
    expect(u.why).toMatch(/the malloc shim sampled no C allocation that kept growing/);
    expect(u.candidates).toHaveLength(1);
    expect(u.candidates[0].share).toBe(1);
    expect(u.candidates[0].shareWhileFlat).toBe(1);
    expect(native.evidence).toMatch(/main\.py:25 \(main\) was running in 100% of \d+ stack samples while RSS rose \(100% while it did not\)$/);
  });

  it("the terminal says no line, why, and lists what ran as candidates with their shares", () => {
    const r = analyze(
      synthCapture({
        sites: [{ frames: [at(20)], bytes: shape.flat(8 * MB) }],
        rss: (t) => 30 * MB + 1.5 * MB * t,
        active: [
          { frames: [at(40, "decode")], hits: () => 3 },
          { frames: [at(50, "idle")], hits: () => 1 },
        ],
      }),
    );
    const lines = renderTerminal(r, { color: false }).split("\n");
    const card = lines.slice(lines.findIndex((l) => l.startsWith("#1 native leak")));
    expect(card[1]).toBe("   at no line: C allocations were not sampled: the malloc shim was not loaded");
    expect(card[2]).toMatch(/^   evidence: .*no allocation was sampled for it, so no line is named; only weak evidence of where: main\.py:40 \(decode\) was running in 75% of \d+ stack samples while RSS rose$/);
    expect(card[3]).toMatch(/^   running while it grew \(\d+ stack samples; running is not allocating\):$/);
    expect(card[4]).toMatch(/^ {6} 75% {2}.*main\.py:40 in decode$/);
    expect(card[5]).toMatch(/^ {6} 25% {2}.*main\.py:50 in idle$/);
    expect(card.join("\n")).not.toMatch(/^ {3}at .*main\.py/m);
  });

  it("native growth under noisy Python churn is still found", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = analyze(
        synthCapture({
          sites: [{ frames: [at(20)], bytes: shape.noisy(shape.flat(8 * MB), 2 * MB, seed) }],
          rss: (t, _i, heap) => 30 * MB + 1.5 * MB * t + heap,
          active: [{ frames: [at(40, "decode")], hits: () => 3 }],
        }),
      );
      expect(r.leaks.some((l) => l.kind === "native"), r.reason).toBe(true);
    }
  });

  it("without active stacks the native leak has no site but still says what grew", () => {
    const r = analyze(synthCapture({ sites: [{ bytes: shape.flat(8 * MB) }], rss: (t) => 30 * MB + 2 * MB * t }));
    const native = r.leaks.find((l) => l.kind === "native")!;
    expect(native.site).toBeNull();
    expect(native.stack).toEqual([]);
    expect(native.evidence).toMatch(/is not Python objects/);
    expect(native.unattributed).toMatchObject({ evidence: "none", candidates: [], samples: 0 });
  });

  it("RSS tracking Python heap growth (arenas) is a Python leak, not native", () => {
    const r = analyze(
      synthCapture({
        sites: [{ frames: [at(20)], bytes: shape.linear(1 * MB, 1 * MB) }],
        rss: (_t, _i, heap, overhead) => 20 * MB + 1.35 * (heap + overhead),
      }),
    );
    expect(r.verdict).toBe("leak");
    expect(r.leaks.map((l) => l.kind)).toEqual(["python"]);
  });

  it("RSS explained by the collector's own growing overhead is not native", () => {
    const r = analyze(
      synthCapture({
        sites: [{ frames: [at(20)], bytes: shape.flat(5 * MB) }],
        overhead: (t) => 1 * MB + 1 * MB * t,
        rss: (_t, _i, heap, overhead) => 20 * MB + heap + 1.1 * overhead,
      }),
    );
    expect(r.leaks.filter((l) => l.kind === "native")).toEqual([]);
  });

  it("RSS growing with the live object count under tracemalloc (snapshot cost per block) is not native", () => {
    const r = analyze(
      synthCapture({
        sites: [{ frames: [at(20)], bytes: shape.linear(0, 1.2 * MB), count: (t) => Math.round((1.2 * MB * t) / 40) }],
        overhead: (_t, _i, heap) => heap,
        rss: (t, _i, heap, overhead) => 20 * MB + 1.3 * (heap + overhead) + 150 * ((1.2 * MB * t) / 40),
      }),
    );
    expect(r.verdict).toBe("leak");
    expect(r.leaks.map((l) => [l.kind, l.site?.line])).toEqual([["python", 20]]);
  });

  it("fragmentation: RSS stays high after a burst the heap freed; not a leak", () => {
    for (const burstAt of [3, 6]) {
      const r = analyze(
        synthCapture({
          sites: [{ frames: [at(20)], bytes: (t) => (t > burstAt && t < burstAt + 1.5 ? 60 * MB : 1 * MB) }],
          rss: (t) => (t > burstAt ? 90 * MB : 30 * MB),
        }),
      );
      expect(r.verdict, r.reason).toBe("no-leak");
      expect(r.reason).toMatch(/RSS rose by .* and stayed there/);
    }
  });

  it("fragmentation from a burst in warm-up: the headline says why RSS stays far above the heap", () => {
    const r = analyze(
      synthCapture({
        sites: [{ frames: [at(20)], bytes: (t) => (t < 1.1 ? 150 * MB : 8 * MB) }],
        rss: (t) => (t < 0.6 ? 16 * MB : 180 * MB),
      }),
    );
    expect(r.verdict, r.reason).toBe("no-leak");
    expect(r.reason).toMatch(/RSS ended at [\d.]+ MiB, .* above the Python heap, which had peaked at .* and came back down \(memory Python freed but the allocator kept, not growth\)/);
    // RSS that tracks the heap says nothing of the kind.
    const plain = analyze(synthCapture({ sites: [{ frames: [at(20)], bytes: (t) => (t < 1.1 ? 150 * MB : 8 * MB) }] }));
    expect(plain.reason).not.toMatch(/RSS ended at/);
  });

  it("RSS that grows and then plateaus (allocator warm-up) is not a leak", () => {
    const r = analyze(
      synthCapture({ sites: [{ bytes: shape.flat(8 * MB) }], rss: (t) => 30 * MB + 10 * MB * Math.min(t, 3) }),
    );
    expect(r.verdict).toBe("no-leak");
  });

  it("native allocation stacks from a native shim are reported as native leaks", () => {
    const r = analyze(
      synthCapture({
        sites: [{ frames: [at(20)], bytes: shape.flat(8 * MB) }],
        nativeSites: [{ frames: [at(60, "grow_buffer")], bytes: shape.linear(0, 1 * MB) }],
        rss: (t) => 30 * MB + 1 * MB * t,
      }),
    );
    expect(r.verdict).toBe("leak");
    expect(r.leaks).toHaveLength(1);
    expect(r.leaks[0].kind).toBe("native");
    expect(r.leaks[0].site?.line).toBe(60);
  });
});
