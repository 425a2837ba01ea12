// "Freed only at exit is still a leak": growth judged on the samples taken while the
// program worked, when its memory went away only after its shutdown began.
import { describe, expect, it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import { beforeShutdown, shutdownCut, shutdownStart } from "../../src/analysis/shutdown.js";
import type { ShutdownMark } from "../../src/capture/model.js";
import { at, lib, synthCapture, synthProcess } from "../helpers/synthetic.js";

const MB = 1024 * 1024;

/** 12 s at 0.5 s: a stack that grows 1 MB/s until `until`, then drops to nothing. */
function growsThenFreed(until: number, marks: ShutdownMark[]) {
  const proc = synthProcess({
    seconds: 12,
    sites: [{ frames: [at(20, "handle")], bytes: (t) => (t <= until ? 1 * MB * t : 0) }],
  });
  proc.shutdown = marks;
  return proc;
}

describe("shutdownStart", () => {
  it("is the earliest mark; the end of the program's other threads replaces the main thread's end", () => {
    expect(shutdownStart([])).toBeNull();
    expect(shutdownStart([{ t: 9, what: "main-end" }, { t: 8, what: "signal" }])).toEqual({ t: 8, what: "signal" });
    expect(shutdownStart([{ t: 5, what: "main-end" }, { t: 9, what: "threads-end" }])).toEqual({ t: 9, what: "threads-end" });
    // A SIGINT before both: the program stopped working when it was interrupted.
    expect(shutdownStart([{ t: 4, what: "signal" }, { t: 5, what: "main-end" }, { t: 9, what: "threads-end" }])).toEqual({ t: 4, what: "signal" });
  });
});

describe("shutdownCut", () => {
  it("ends the working samples a grace of 1.5 intervals before the mark", () => {
    const proc = growsThenFreed(11.6, [{ t: 11.8, what: "main-end" }]);
    const cut = shutdownCut(proc)!;
    expect(proc.samples[cut.index]!.t).toBeGreaterThanOrEqual(11.8 - 0.75);
    expect(proc.samples[cut.index - 1]!.t).toBeLessThan(11.8 - 0.75);
    const view = beforeShutdown(proc, cut.index);
    expect(view.samples.length).toBe(cut.index);
    expect([...view.sites.values()][0]!.bytes.length).toBe(cut.index);
  });

  it("is null without a mark, or when no sample came after it", () => {
    expect(shutdownCut(growsThenFreed(11.6, []))).toBeNull();
    expect(shutdownCut(growsThenFreed(11.6, [{ t: 30, what: "atexit" }]))).toBeNull();
  });
});

describe("freed only at exit", () => {
  it("growth for the whole run, freed after the main thread finished: a leak that says so", () => {
    const r = analyze({ ...synthCapture(), processes: [growsThenFreed(11.6, [{ t: 11.8, what: "main-end" }])] });
    expect(r.verdict).toBe("leak");
    expect(r.reason).toContain("freed only at exit");
    expect(r.leaks[0]!.freedAtExit).toMatchObject({ what: "main-end", t: 11.8 });
    expect(r.leaks[0]!.freedAtExit!.freedBytes).toBeGreaterThan(10 * MB);
  });

  it("a search that found none of its objects does not call memory the exit released a reference leaked in C", () => {
    const proc = synthProcess({
      seconds: 12,
      sites: [{ frames: [at(20, "handle")], bytes: (t) => (t <= 11.6 ? 1 * MB * t : 0) }],
      retainers: [{ stackId: 1, found: 0, sampled: 0, unreachable: true, paths: [],
        note: "nothing refers to it: no Python object holds a reference (a reference leaked in C?), or the memory is a buffer inside an object allocated elsewhere" }],
    });
    proc.shutdown = [{ t: 11.8, what: "main-end" }];
    const leak = analyze({ ...synthCapture(), processes: [proc] }).leaks[0]!;
    expect(leak.freedAtExit).toBeDefined();
    expect(leak.unreachable).toBe(false);
    expect(leak.retainerNote).toMatch(/^the search found none of its sampled objects alive, and its memory was released after the main thread finished: .*not a reference leaked in C$/);
  });

  it("the same capture without a shutdown mark stays what it was (older captures)", () => {
    const r = analyze({ ...synthCapture(), processes: [growsThenFreed(11.6, [])] });
    expect(r.verdict).not.toBe("leak");
  });

  it("after --duration's SIGINT: the cleanup in the signal handler does not cancel the growth", () => {
    const r = analyze({ ...synthCapture(), processes: [growsThenFreed(11.2, [{ t: 11.1, what: "signal" }])] });
    expect(r.verdict).toBe("leak");
    expect(r.leaks[0]!.evidence).toContain("after leakhound sent SIGINT (--duration)");
  });

  it("a burst freed while the program still works stays not a leak", () => {
    const proc = synthProcess({
      seconds: 12,
      sites: [{ frames: [at(30, "burst")], bytes: (t) => (t <= 4 ? 2 * MB * t : 0) }],
    });
    proc.shutdown = [{ t: 11.8, what: "main-end" }];
    const r = analyze({ ...synthCapture(), processes: [proc] });
    expect(r.verdict).toBe("no-leak");
    expect(r.leaks).toHaveLength(0);
  });

  it("memory that stays after the mark is judged as before (no second verdict)", () => {
    const proc = synthProcess({ seconds: 12, sites: [{ frames: [at(40)], bytes: (t) => 1 * MB * t }] });
    proc.shutdown = [{ t: 11.8, what: "main-end" }];
    const r = analyze({ ...synthCapture(), processes: [proc] });
    expect(r.verdict).toBe("leak");
    expect(r.leaks[0]!.freedAtExit).toBeUndefined();
    expect(r.reason).not.toContain("freed only at exit");
  });
});

describe("a line both the whole run and its working samples judge to leak", () => {
  it("is told as the judgement that sees more of its growth: its big stacks, flat over the search at exit, not its one small stack", () => {
    // The line's big stack grew while the program worked and stayed flat behind the mark (four
    // samples over a search at exit); its small stack grew on. The whole run sees only the small one leak.
    const proc = synthProcess({
      seconds: 7,
      sites: [
        { frames: [lib("concurrent/futures/_base.py", 332, "__init__"), at(60, "submit")], bytes: (t) => 2 * MB * Math.min(t, 5) },
        { frames: [lib("concurrent/futures/thread.py", 48, "__init__"), at(60, "submit")], bytes: (_t, i) => 0.05 * MB * i },
      ],
    });
    [5.1, 5.15, 6.5, 6.55].forEach((t, k) => (proc.samples[10 + k]!.t = t));
    proc.shutdown = [{ t: 5.3, what: "main-end" }];
    const r = analyze({ ...synthCapture(), processes: [proc] });
    const at60 = r.leaks.filter((l) => l.site?.line === 60);
    expect(at60).toHaveLength(1);
    expect(at60[0]!.growthBytes).toBeGreaterThan(6 * MB);
    expect(at60[0]!.evidence).toContain("2 allocation stacks at this line");
  });
});

describe("retainer targets once the shutdown began", () => {
  it("judge the working samples: flat memory behind the mark is no plateau; memory already freed is not searched", async () => {
    const { retainerTargets } = await import("../../src/analysis/targets.js");
    // Grew while it worked, then stayed flat for 6 s of shutdown (a slow search at the mark).
    const flat = synthProcess({ seconds: 14, sites: [{ frames: [at(50)], bytes: (t) => 1 * MB * Math.min(t, 8) }] });
    flat.shutdown = [{ t: 8, what: "main-end" }];
    const id = [...flat.sites.keys()][0]!;
    expect(retainerTargets(flat, 10)).toEqual([id]);
    // Freed after the mark: nothing left to find.
    const freed = growsThenFreed(11.6, [{ t: 11.8, what: "main-end" }]);
    expect(retainerTargets(freed, 10)).toEqual([]);
    // Before the cleanup (the mark's own sample is the last one): searched.
    const before = growsThenFreed(20, [{ t: 11.8, what: "main-end" }]);
    expect(retainerTargets(before, 10)).toHaveLength(1);
  });
});
