// Growth into containers that hold at most so many items (src/analysis/bounded.ts): a deque with
// maxlen or a bounded lru_cache not full yet levels off, and is no leak unless its bound is more
// memory than a process can spend; full containers, unreachable objects and paths that mostly go
// elsewhere stay leaks.
import { describe, expect, it } from "vitest";
import type { LeakReport, RetainerReport } from "../../src/report/model.js";
import { BOUNDED_MAX_BYTES, boundedGrowth, splitBounded } from "../../src/analysis/bounded.js";

function retainer(steps: string[], objects: number, bound?: RetainerReport["bound"]): RetainerReport {
  const root = "module __main__";
  return { root, rootKind: "module global", path: steps, text: [root, ...steps].join(" → "), objects, bytes: objects * 100, ...(bound ? { bound } : {}) };
}

function leak(retainers: RetainerReport[], liveBytes = 2 * 1024 ** 2, extra: Partial<LeakReport> = {}): LeakReport {
  return {
    rank: 1, kind: "python", pid: 7, site: { file: "/app/feed.py", line: 6, function: "record" }, stack: [],
    growthBytes: liveBytes, growthBytesPerSec: 200_000, liveBytes, liveCount: 20_000, confidence: 0.87,
    evidence: "grew in 12 of 12 intervals", unreachable: false, retainers, stackId: 3, series: [], ...extra,
  };
}

const HISTORY = "HISTORY (deque, at most 200,000, 20,000 items)";

describe("bounded growth", () => {
  it("a deque not full yet: its memory at the bound, projected from its items now", () => {
    const b = boundedGrowth(leak([retainer([HISTORY, "[*] (str)"], 190, { limit: 200_000, size: 20_000, step: 0 }), retainer(["OTHER (list, 3 items)"], 10)]))!;
    expect(b).not.toBeNull();
    expect(b.container).toBe("module __main__ → HISTORY");
    expect(b.projectedBytes).toBeCloseTo(20 * 1024 ** 2, 0);
    expect(b.leak).toBe(false);
    expect(b.text).toBe(
      "module __main__ → HISTORY (deque of at most 200,000, 20,000 now): feed.py:6 (record)'s memory levels off when it is full, at about 20.0 MiB",
    );
  });

  it("stays a leak when the container is full, most paths go elsewhere, or nothing refers to them", () => {
    expect(boundedGrowth(leak([retainer([HISTORY], 100, { limit: 20_000, size: 20_000, step: 0 })]))).toBeNull();
    expect(boundedGrowth(leak([retainer([HISTORY], 70, { limit: 200_000, size: 20_000, step: 0 }), retainer(["LOG (list, 9 items)"], 30)]))).toBeNull();
    expect(boundedGrowth(leak([retainer([HISTORY], 100, { limit: 200_000, size: 20_000, step: 0 })], 1, { unreachable: true }))).toBeNull();
    expect(boundedGrowth(leak([retainer(["LOG (list, 9 items)"], 100)]))).toBeNull();
  });

  it("a bound more memory than a process can spend is a leak all the same, and says so", () => {
    const huge = leak([retainer([HISTORY], 100, { limit: 1_000_000_000, size: 20_000, step: 0 })]);
    const { leaks, bounded } = splitBounded([huge]);
    expect(bounded).toEqual([]);
    expect(leaks).toHaveLength(1);
    expect(leaks[0].evidence).toMatch(/into a bounded container, but .* at about 97.7 GiB: more than a process can spend$/);
    expect(boundedGrowth(huge)!.projectedBytes).toBeGreaterThan(BOUNDED_MAX_BYTES);
  });

  it("adds up several containers by their share of the objects, and names the largest", () => {
    const lru = "render (lru_cache render, at most 1,000, 100 entries)";
    const b = boundedGrowth(
      leak([retainer([lru, "cache entry (str)"], 50, { limit: 1_000, size: 100, step: 0 }), retainer([HISTORY, "[*] (str)"], 150, { limit: 200_000, size: 20_000, step: 0 })], 4_000_000),
    )!;
    // 3/4 of 4 MB × 10 (the deque) + 1/4 × 4 MB × 10 (the cache).
    expect(b.projectedBytes).toBeCloseTo(40_000_000, 0);
    expect(b.container).toBe("module __main__ → HISTORY");
    expect(b.text).toMatch(/\(with 1 more such container\)$/);
  });
});
