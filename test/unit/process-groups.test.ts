// Leaks of processes running the same code at the same site are one leak.
import { describe, expect, it } from "vitest";
import { mergeAcrossProcesses } from "../../src/analysis/process-groups.js";
import { emptyProcess, type ProcessCapture } from "../../src/capture/model.js";
import type { LeakReport } from "../../src/report/model.js";

function proc(pid: number, ppid: number, argv = ["python3", "server.py"], samples = 20): ProcessCapture {
  const sample = { seq: 0, t: 0, rss: 0, heap: 0, overhead: 0, gcEnabled: true, otherBytes: 0, cost: 0 };
  return { ...emptyProcess(pid), ppid, argv, executable: "/usr/bin/python3", samples: Array.from({ length: samples }, (_, i) => ({ ...sample, seq: i, t: i / 2 })) };
}

function leak(pid: number, line: number, rate: number, retainer?: string): LeakReport {
  return {
    rank: 0, kind: "python", pid, site: { file: "/srv/app.py", line, function: "handle" }, stack: [],
    growthBytes: rate * 10, growthBytesPerSec: rate, liveBytes: rate * 12, liveCount: 100, confidence: 0.8 + pid / 1e4,
    evidence: "grew in 12 of 12 intervals", unreachable: false, retainers: retainer ? [{ root: "module app", rootKind: "module global", path: ["_LOG (list, 9 items)"], text: retainer, objects: 9, bytes: 90 }] : [],
    ...(retainer ? {} : { retainerNote: "not searched" }), stackId: 1, series: [],
  };
}

describe("leaks merged across processes", () => {
  // 15: a fork that said hello and exec'd at once (two samples): not one of the workers.
  const procs = [proc(10, 1), proc(11, 10), proc(12, 10), proc(13, 10), proc(14, 10, ["python3", "-c", "helper"]), proc(15, 10, undefined, 2)];

  it("workers of one parent at one site: one leak with totals, each worker's part, out of the workers running that code", () => {
    const merged = mergeAcrossProcesses([leak(11, 31, 1000), leak(12, 31, 3000, "module app → _LOG"), leak(13, 40, 500)], procs);
    expect(merged).toHaveLength(2);
    const m = merged.find((l) => l.site!.line === 31)!;
    expect(m.group).toEqual({ leaking: 2, of: 3, label: "workers of pid 10" });
    expect(m.growthBytes).toBe(40_000);
    expect(m.growthBytesPerSec).toBe(4000);
    expect(m.liveBytes).toBe(48_000);
    expect(m.pid).toBe(12); // the largest first
    expect(m.retainers[0]!.text).toBe("module app → _LOG");
    expect(m.processes!.map((p) => [p.pid, p.retainer])).toEqual([[12, "module app → _LOG"], [11, "not searched"]]);
    expect(m.evidence).toBe("2 of 3 workers of pid 10 leak here, +2.0 KiB/s each; grew in 12 of 12 intervals");
    expect(merged.find((l) => l.site!.line === 40)!.group).toBeUndefined();
  });

  it("native growth no sampled allocation accounts for: one leak for the workers running the same code", () => {
    const native = (pid: number, rate: number): LeakReport => ({
      ...leak(pid, 31, rate),
      kind: "native",
      site: null,
      stackId: -1,
      evidence: "RSS grew in 12 of 12 intervals",
      unattributed: { fromSec: 1, toSec: 9, bytesPerSec: rate, why: "C allocations were not sampled", samples: 20, samplesFlat: 0, candidates: [], evidence: "none" },
    });
    const merged = mergeAcrossProcesses([native(11, 1000), native(12, 3000), native(14, 500)], procs);
    expect(merged).toHaveLength(2); // pid 14 runs other code
    const m = merged.find((l) => l.group)!;
    expect(m.group).toEqual({ leaking: 2, of: 3, label: "workers of pid 10" });
    expect(m.site).toBeNull();
    expect(m.evidence).toBe("2 of 3 workers of pid 10 leak native memory, +2.0 KiB/s each; RSS grew in 12 of 12 intervals");
  });

  it("a worker that leaks at the site by two stacks: its larger one is its part of the group, the other a leak of its own", () => {
    const other = { ...leak(12, 31, 200), stackId: 2 };
    const merged = mergeAcrossProcesses([leak(11, 31, 1000), other, leak(12, 31, 3000), leak(13, 31, 2000)], procs);
    expect(merged).toHaveLength(2);
    const m = merged.find((l) => l.group)!;
    expect(m.group).toEqual({ leaking: 3, of: 3, label: "workers of pid 10" });
    expect(m.processes!.map((p) => p.pid)).toEqual([12, 13, 11]);
    expect(m.growthBytesPerSec).toBe(6000);
    expect(merged.find((l) => !l.group)).toBe(other);
  });

  it("one process, or a leak without a site, is left alone", () => {
    expect(mergeAcrossProcesses([leak(11, 31, 1000)], procs)[0]!.group).toBeUndefined();
    const noSite = { ...leak(11, 31, 1000), site: null };
    expect(mergeAcrossProcesses([noSite, { ...noSite, pid: 12 }], procs)).toHaveLength(2);
  });
});
