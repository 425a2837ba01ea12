// The per-path figures under "why it stays alive" (src/analysis/retainers.ts): the agent's
// estimates are used as sent (not split by count at one average size), merged stacks add up
// with errors in quadrature, and captures without estimates fall back to the old split,
// marked approximate.
import { describe, expect, it } from "vitest";
import type { RetainerPath, RetainerResult } from "../../src/protocol/messages.js";
import { pathFigures, summarizeRetainers } from "../../src/analysis/retainers.js";
import { renderTerminal } from "../../src/report/terminal.js";
import type { Report, RetainerReport } from "../../src/report/model.js";
import { REPORT_SCHEMA } from "../../src/report/model.js";
import { reportErrors } from "../helpers/schema.js";
import { mergeRetainers, nodeFigures } from "../../web/retainer-tree.js";

const TUPLES = "TUPLES (list, 366,500 items)";

function path(steps: string[], objects: number, bytes: number, est?: Partial<RetainerPath>): RetainerPath {
  return { rootKind: "module global", root: "module __main__", steps, objects, bytes, ...est };
}

function result(paths: RetainerPath[], found = 48_000, sampled = 200, stackId = 1): RetainerResult {
  return { stackId, found, sampled, unreachable: false, paths };
}

describe("retainer figures", () => {
  // The case: one stack keeps 366,500 4-tuples and as many floats in them; its live
  // count is blocks (tuples, floats and the list's storage), 737,122 of them.
  const tuples = path([TUPLES, "[*] (tuple, 4 items)"], 100, 7200, {
    estObjects: 366_500, estBytes: 26_388_000, errObjects: 0, errBytes: 0, exact: true,
  });
  const floats = path([TUPLES, "[*] (tuple, 4 items)", "[1] (float)"], 100, 2400, {
    estObjects: 363_100, estBytes: 8_714_400, errObjects: 3_300, errBytes: 79_200, exact: false,
  });
  const input = { result: result([tuples, floats]), liveBytes: 52_000_000, liveCount: 737_122 };

  it("uses the agent's estimates, not the stack's live count split by the sample", () => {
    const { retainers } = summarizeRetainers([input], "ran");
    expect(retainers.map((r) => [r.objects, r.bytes, r.exact, r.objectsError, r.bytesError])).toEqual([
      [366_500, 26_388_000, true, undefined, undefined],
      [363_100, 8_714_400, false, 3_300, 79_200],
    ]);
    expect(retainers.some((r) => r.approximate)).toBe(false);
    // What today's split gave: half of the 737,122 blocks each, at one average size.
    const old = summarizeRetainers([{ ...input, result: result([path(tuples.steps, 100, 7200), path(floats.steps, 100, 2400)]) }], "ran");
    expect(old.retainers[0].objects).toBe(368_561);
    expect(old.retainers[0].approximate).toBe(true);
  });

  it("says so when the search ran and found none of a stack's objects alive, and keeps the agent's own note", () => {
    const none = summarizeRetainers([{ result: result([], 0, 0), liveBytes: 1_000_000, liveCount: 9_000 }], "ran");
    expect(none.retainers).toEqual([]);
    expect(none.note).toMatch(/^the search found none of its sampled objects still alive: they were freed before it ran/);
    const cut = summarizeRetainers([{ result: result([], 0, 0), liveBytes: 1, liveCount: 1, truncated: true }], "ran");
    expect(cut.note).toMatch(/^the search stopped at its time budget before it found any of its sampled objects/);
    const told = summarizeRetainers([{ result: { ...result([], 0, 0), note: "its own words" }, liveBytes: 1, liveCount: 1 }], "ran");
    expect(told.note).toBe("its own words");
  });

  it("says when paths were traced for only part of the sampled objects", () => {
    const { retainers } = summarizeRetainers([input], "ran");
    expect(retainers[0].traced).toEqual({ explained: 200, sampled: 48_000 });
    const all = summarizeRetainers([{ ...input, result: result([tuples], 150, 150) }], "ran");
    expect(all.retainers[0].traced).toBeUndefined();
  });

  it("adds equal paths of merged stacks, errors in quadrature, exact only when both are", () => {
    const a = { ...input, result: result([floats], 1000, 200, 1) };
    const b = { ...input, result: result([{ ...floats, estObjects: 1000, errObjects: 400, estBytes: 24_000, errBytes: 9_600 }], 1000, 200, 2) };
    const [merged] = summarizeRetainers([a, b], "ran").retainers;
    expect(merged.objects).toBe(364_100);
    expect(merged.objectsError).toBeCloseTo(Math.hypot(3_300, 400), 6);
    expect(merged.bytesError).toBeCloseTo(Math.hypot(79_200, 9_600), 6);
    expect(merged.exact).toBe(false);
    const [both] = summarizeRetainers([{ ...input, result: result([tuples]) }, { ...input, result: result([tuples]) }], "ran").retainers;
    expect(both.exact).toBe(true);
    expect(both.objects).toBe(733_000);
    expect(both.objectsError).toBeUndefined();
    const [mixed] = summarizeRetainers([{ ...input, result: result([tuples]) }, { ...input, result: result([path(tuples.steps, 10, 720)]) }], "ran").retainers;
    expect(mixed.approximate).toBe(true);
    expect(mixed.exact).toBeUndefined();
  });

  it("calls a merged leak unreachable only when no stack of it has paths", () => {
    const NOT_FOUND = "nothing refers to it: no Python object holds a reference (a reference leaked in C?)";
    const empty = { ...input, result: { stackId: 2, found: 0, sampled: 0, unreachable: true, note: NOT_FOUND, paths: [] } };
    // The largest stack found nothing (its memory is another line's storage now); the second explains it.
    const merged = summarizeRetainers([empty, input], "ran");
    expect(merged.unreachable).toBe(false);
    expect(merged.note).toBeUndefined();
    expect(merged.retainers).toHaveLength(2);
    const alone = summarizeRetainers([empty], "ran");
    expect([alone.unreachable, alone.note]).toEqual([true, NOT_FOUND]);
  });

  it("falls back to the old split for captures without estimates, and ignores malformed ones", () => {
    const p = path(["X (list)"], 50, 500);
    expect(pathFigures(p, result([p], 100, 200), 1_000_000, 10_000)).toEqual({ objects: 2_500, bytes: 250_000, approximate: true });
    const bad = path(["X (list)"], 50, 500, { estObjects: -1, estBytes: Number.NaN });
    expect(pathFigures(bad, result([bad], 100, 200), 1_000_000, 10_000).approximate).toBe(true);
    const noErr = path(["X (list)"], 50, 500, { estObjects: 70, estBytes: 700 });
    expect(pathFigures(noErr, result([noErr]), 0, 0)).toEqual({ objects: 70, bytes: 700, objectsError: 0, bytesError: 0, exact: false });
  });

  it("prints counted, estimated (±) and approximate figures in the terminal, and validates", () => {
    const { retainers } = summarizeRetainers([input], "ran");
    const approx: RetainerReport = { ...retainers[0], objects: 737_122, bytes: 52_000_000, approximate: true };
    delete approx.exact;
    const text = renderTerminal(report([...retainers, approx].slice(0, 3)), { color: false });
    expect(text).toContain("× 366,500 objects, 25.2 MiB (counted)");
    expect(text).toContain("× ~363,100 objects ±3,300, 8.3 MiB ±77.3 KiB");
    expect(text).toContain("× ~737,122 objects, 49.6 MiB (approximate: the stack's live figures split by path)");
    expect(text).toContain("(paths traced for 200 of the 48,000 sampled objects found; each path's share estimated from them)");
    expect(reportErrors(report(retainers))).toBeNull();
  });
});

describe("the HTML retainer tree", () => {
  it("adds up paths through a node, errors in quadrature, counted only when every path is", () => {
    const { retainers } = summarizeRetainers(
      [{ result: result([path([TUPLES, "[*] (tuple, 4 items)"], 100, 7200, { estObjects: 366_500, estBytes: 26_388_000, exact: true }),
        path([TUPLES, "[*] (tuple, 4 items)", "[1] (float)"], 100, 2400, { estObjects: 363_100, estBytes: 8_714_400, errObjects: 3_000, errBytes: 72_000 }),
        path([TUPLES, "[*] (tuple, 4 items)", "[2] (str)"], 100, 2400, { estObjects: 10_000, estBytes: 500_000, errObjects: 4_000, errBytes: 96_000 })]),
        liveBytes: 0, liveCount: 0 }],
      "ran",
    );
    const [root] = mergeRetainers(retainers);
    const list = root.children[0];
    const tuple = list.children[0];
    expect(nodeFigures(tuple.children.find((n) => n.label === "[1] (float)")!)).toMatchObject({ count: "× ~363,100 ±3,000", bytes: "8.3 MiB ±70.3 KiB" });
    // The tuples node: every path through it (the tuples, the floats and strings in them).
    expect(tuple.objects).toBe(739_600);
    expect(nodeFigures(tuple)).toMatchObject({ count: "× ~739,600 ±5,000", bytes: "34.0 MiB ±117 KiB" });
    const counted = mergeRetainers([retainers.find((r) => r.exact)!])[0];
    expect(nodeFigures(counted)).toMatchObject({ count: "× 366,500", bytes: "25.2 MiB", title: "counted in the containers the walk reached" });
    // Reports without the fields (older JSON) read as before; the old split reads as approximate.
    const plain: RetainerReport = { root: "module m", rootKind: "module global", path: ["X (list)"], text: "module m → X (list)", objects: 12_034, bytes: 1024 };
    expect(nodeFigures(mergeRetainers([plain])[0]).count).toBe("× 12,034");
    expect(nodeFigures(mergeRetainers([{ ...plain, approximate: true }])[0]).count).toBe("× ~12,034");
  });
});

function report(retainers: RetainerReport[]): Report {
  const figures = { start: 0, end: 0, peak: 0, ratePerSec: 0 };
  return {
    schema: REPORT_SCHEMA,
    tool: { name: "leakhound", version: "0.0.0" },
    verdict: "leak",
    reason: "test",
    confidence: 0.9,
    partial: false,
    notes: [],
    target: { argv: ["python3", "x.py"], pid: 1, python: "3.12.0", exitCode: 0, signal: null },
    collector: null,
    durationSec: 1,
    memory: { rss: figures, heap: figures },
    leaks: [
      {
        rank: 1,
        kind: "python",
        pid: 1,
        site: { file: "/x.py", line: 1, function: "f" },
        stack: [],
        growthBytes: 1,
        growthBytesPerSec: 1,
        liveBytes: 1,
        liveCount: 1,
        confidence: 0.9,
        evidence: "grew",
        unreachable: false,
        retainers,
        stackId: 1,
        series: [],
      },
    ],
    processes: [],
    sites: [],
    sources: {},
    capture: null,
  };
}
