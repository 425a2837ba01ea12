// Leaks grouped by cause (issue 12, part 5): sites whose objects one container keeps alive
// are one leak; a site no path explains is a finding of its own.
import { describe, expect, it } from "vitest";
import { groupCauses, stepKind, stepName } from "../../src/analysis/causes.js";
import type { LeakReport, RetainerReport } from "../../src/report/model.js";
import { at } from "../helpers/synthetic.js";

function path(root: string, steps: string[], objects = 100): RetainerReport {
  return { root, rootKind: "module global", path: steps, text: [root, ...steps].join(" → "), objects, bytes: objects * 100 };
}

function leak(rank: number, retainers: RetainerReport[], extra: Partial<LeakReport> = {}): LeakReport {
  return {
    rank, kind: "python", pid: 7, site: at(10 + rank), stack: [at(10 + rank)], growthBytes: 1000 * rank, growthBytesPerSec: 10 * rank,
    liveBytes: 2000 * rank, liveCount: 20, confidence: 0.5 + rank / 100, evidence: "grew", unreachable: false, retainers, stackId: rank, series: [], ...extra,
  };
}

const LOG = "_REQUEST_LOG (dict, 4,548 items)";

describe("stepName / stepKind", () => {
  it("drop a step's figures and read its kind", () => {
    expect(stepName(LOG)).toBe("_REQUEST_LOG");
    expect(stepName("[*] (RequestContext)")).toBe("[*]");
    expect(stepKind("[*] (RequestContext)")).toBe("RequestContext");
    expect(stepKind(".headers (dict, 2 items)")).toBe("dict");
    expect(stepKind("value")).toBeNull();
  });
});

describe("groupCauses", () => {
  it("sites kept by one module dict are one cause, named by the container and what it keeps", () => {
    const leaks = [
      leak(1, [path("module app", [LOG, "[*] (RequestContext)", ".body (str)"])]),
      leak(2, [path("module app", ["_REQUEST_LOG (dict, 4,602 items)", "[*] (RequestContext)", ".headers (dict, 2 items)"])]),
      leak(3, [path("module app", [LOG, "[*] (RequestContext)"])]),
    ];
    const { causes, leaks: out } = groupCauses(leaks);
    expect(causes).toHaveLength(1);
    expect(causes[0]).toMatchObject({
      id: "C1", rank: 1, explained: true, root: "module app", path: ["_REQUEST_LOG", "[*]"], leaks: [1, 2, 3], sites: 3,
      label: "module app → _REQUEST_LOG keeps RequestContext objects", growthBytes: 6000, liveBytes: 12000, growthBytesPerSec: 60,
    });
    expect(causes[0]!.confidence).toBeCloseTo(0.53);
    expect(out.map((l) => l.cause)).toEqual(["C1", "C1", "C1"]);
    // The input is not changed.
    expect(leaks[0]!.cause).toBeUndefined();
  });

  it("below a plain container the paths share (an lru_cache's dict), the kind they all end at names what it keeps", () => {
    const cache = ["render (lru_cache render)", "cache (dict, 19,318 items)"];
    const { causes } = groupCauses([
      leak(1, [path("module __main__", [...cache, "[*] (str)"])]),
      leak(2, [path("module __main__", [...cache, "key (str)"])]),
    ]);
    expect(causes[0]!.label).toBe("module __main__ → render keeps str objects");
    const mixed = groupCauses([
      leak(1, [path("module __main__", [...cache, "[*] (str)"])]),
      leak(2, [path("module __main__", [...cache, "key (tuple, 2 items)"])]),
    ]);
    expect(mixed.causes[0]!.label).toBe("module __main__ → render keeps them alive");
  });

  it("a container subclass the agent counts items of (a mock's _CallList) holds, it is not what is kept", () => {
    const calls = ["_CLIENT (MagicMock)", "._mock_mock_calls (_CallList, 42,500 items)"];
    const { causes } = groupCauses([
      leak(1, [path("module __main__", [...calls, "[*] (_Call, 3 items)", ".__dict__ (dict, 3 items)"], 300), path("module __main__", [...calls, "[*] (_Call, 3 items)"], 200)]),
    ]);
    expect(causes[0]!.label).toBe("module __main__ → _CLIENT keeps _Call objects");
  });

  it("classes made per call (many names in one step) are kept as classes", () => {
    const models = "_MODELS (dict, 17,050 items)";
    const { causes } = groupCauses([
      leak(1, [
        path("module __main__", [models, "[*] (classes Row10043, Row10135, …)", ".fields (list, 50 items)"], 300),
        path("module __main__", [models, "[*] (classes Row1, Row13, …)", ".__mro__ (tuple, 3 items)"], 200),
      ]),
    ]);
    expect(causes[0]!.label).toBe("module __main__ → _MODELS keeps classes");
  });

  it("one site with many paths through a registry's dict: named by the kind below it that holds most objects", () => {
    const reg = ["Logger.manager (Manager)", ".loggerDict (dict, 446,602 items)"];
    const { causes } = groupCauses([
      leak(1, [
        path("module logging", [...reg, "[*] (Logger)", ".filters (list, 0 items)"], 460_000),
        path("module logging", [...reg, "key (str)"], 446_602),
        path("module logging", [...reg, "[*] (Logger)"], 446_600),
        path("module logging", [...reg, "[*] (Logger)", ".handlers (list, 0 items)"], 460_000),
        path("module logging", [...reg, "['app'] (PlaceHolder)", ".loggerMap (dict, 446,600 items)"], 1),
      ]),
    ]);
    expect(causes[0]!.label).toBe("module logging → Logger.manager keeps Logger objects");
    // Plain containers that are themselves what is kept.
    expect(groupCauses([leak(1, [path("module app", ["_ROWS (list, 9 items)", "[*] (dict, 3 items)"])])]).causes[0]!.label).toBe(
      "module app → _ROWS keeps dict objects",
    );
    // Also when the paths go on below them, into their values (each record's fields).
    expect(
      groupCauses([
        leak(1, [
          path("module app", ["_ROWS (list, 9,000 items)", "[*] (dict, 2 items)", "['path'] (str)"], 900),
          path("module app", ["_ROWS (list, 9,000 items)", "[*] (dict, 2 items)", "['request'] (int)"], 800),
        ]),
      ]).causes[0]!.label,
    ).toBe("module app → _ROWS keeps dict objects");
  });

  it("a native leak whose owners the same container keeps is one cause with the owners' Python leak; one no object owns is its own", () => {
    const arrays = "_HIST (list, 4,487 items)";
    const owner = { by: "pointer" as const, types: [{ type: "ndarray", desc: "ndarray 2000 float64", objects: 4419, bytes: 70_000_000 }], reached: 1 };
    const { causes } = groupCauses([
      leak(1, [path("module __main__", [arrays, "[*] (ndarray)"])], { kind: "native", owner }),
      leak(2, [path("module __main__", ["_HIST (list, 4,490 items)", "[*] (ndarray)"])]),
      leak(3, [], { kind: "native" }),
    ]);
    expect(causes.map((c) => [c.leaks, c.label])).toEqual([
      [[1, 2], "module __main__ → _HIST keeps ndarray objects"],
      [[3], "native memory"],
    ]);
  });

  it("different containers, unexplained and unreachable sites, other processes: causes of their own, in rank order", () => {
    const { causes, leaks } = groupCauses([
      leak(1, [path("module app", ["_CACHE (list, 9 items)", "[*] (str)"])]),
      leak(2, []),
      leak(3, [path("module app", ["_OTHER (dict, 3 items)", "[*] (bytes)"])]),
      leak(4, [path("module app", ["_CACHE (list, 9 items)", "[*] (tuple, 2 items)"])]),
      leak(5, [path("module app", ["_CACHE (list, 9 items)"])], { unreachable: true }),
      leak(6, [path("module app", ["_CACHE (list, 9 items)", "[*] (str)"])], { pid: 8 }),
      leak(7, [], { kind: "native", site: null }),
    ]);
    expect(causes.map((c) => [c.id, c.leaks, c.explained])).toEqual([
      ["C1", [1, 4], true], ["C2", [2], false], ["C3", [3], true], ["C4", [5], false], ["C5", [6], true], ["C6", [7], false],
    ]);
    // Two sites sharing only the container: no deeper kind is common to them.
    expect(causes[0]!.label).toBe("module app → _CACHE keeps them alive");
    expect(causes[0]!.path).toEqual(["_CACHE"]);
    expect(causes[1]!.label).toBe("main.py:12 (handle)");
    expect(causes[2]!.label).toBe("module app → _OTHER keeps bytes objects");
    expect(causes[5]!.label).toBe("native memory");
    expect(leaks.map((l) => l.cause)).toEqual(["C1", "C2", "C3", "C1", "C4", "C5", "C6"]);
  });

  it("a cause whose every site was freed only at exit says so", () => {
    const freed = { t: 5, what: "main-end" as const, freedBytes: 1, text: "freed only at exit" };
    const { causes } = groupCauses([
      leak(1, [path("module app", ["_X (list, 1 item)", "[*] (A)"])], { freedAtExit: freed }),
      leak(2, [path("module app", ["_X (list, 1 item)", "[*] (A)"])], { freedAtExit: freed }),
    ]);
    expect(causes[0]!.freedAtExit).toBe(true);
  });

  it("no leaks, no causes", () => {
    expect(groupCauses([])).toEqual({ causes: [], leaks: [] });
  });
});

describe("a cause's table below the way there", () => {
  it("names the table where the objects pile up when the first steps only lead to it", () => {
    const steps = ["_SERVING (task trail)", "._context (Context)", "[ContextVar 'trail'] (list, 39,950 items)", "[*] (dict, 2 items)", "['path'] (str)"];
    const { causes } = groupCauses([leak(1, [path("module __main__", steps, 40_000)])]);
    // Right below the first step, the first step names it (`Logger.manager → .loggerDict`).
    const near = groupCauses([leak(1, [path("module __main__", ["_POOL (Pool)", "._cache (dict, 40,000 items)", "[*] (Job)"], 40_000)])]);
    expect(near.causes[0]!.label).toBe("module __main__ → _POOL keeps Job objects");
    expect(causes[0]!.label).toMatch(/^module __main__ → _SERVING … → \[ContextVar 'trail'\] keeps /);
  });
});
