// The capture file round trip: what the writer stores, readCapture gives back.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CaptureWriter, readCapture, CaptureError } from "../../src/capture/store.js";
import type { HelloMessage, SampleMessage } from "../../src/protocol/messages.js";
import { exitSearch } from "../helpers/synthetic.js";

const hello: HelloMessage = {
  type: "hello",
  v: 1,
  pid: 4242,
  ppid: 1,
  python: "3.12.1",
  implementation: "cpython",
  executable: "/usr/bin/python3",
  argv: ["python3", "app.py"],
  cwd: "/srv",
  startedAt: 1_700_000_000_000,
  collector: { name: "tracemalloc", intervalSec: 0.5, nframes: 16, sampleBytes: 0 },
};

function sample(seq: number, sites: [number, number, number][]): SampleMessage {
  return { type: "sample", seq, t: seq * 0.5, rss: 1e7 + seq, heap: 5e6 + seq, overhead: 1000, gcEnabled: true, sites, otherBytes: 10, otherCount: 1, active: [[2, 3]], cost: 0.001 };
}

function tmp(name: string) {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-store-")), name);
}

describe("capture store", () => {
  it("round-trips processes, stacks, samples (changes only), logs, retainers and sources", () => {
    const file = tmp("c.lhdb");
    const w = new CaptureWriter(file, { leakhoundVersion: "t", createdAt: 1, argv: ["python3", "app.py"], cwd: "/srv", complete: false, exitCode: null, signal: null, notes: ["n1"] });
    w.hello(hello);
    w.stacks(4242, [{ id: 1, frames: [{ file: "/srv/app.py", line: 9, function: "handle" }] }, { id: 2, frames: [] }]);
    w.sample(4242, sample(0, [[1, 100, 1]]));
    w.sample(4242, sample(1, [[1, 100, 1]])); // unchanged: stored as no change
    w.sample(4242, sample(2, [[1, 300, 3]]));
    w.log(4242, "warning", "careful");
    w.explanation(4242, exitSearch([{ stackId: 1, found: 3, sampled: 3, unreachable: false, paths: [{ rootKind: "module global", root: "module app", steps: ["HISTORY (list, 3 items)"], objects: 3, bytes: 300 }] }]));
    w.processEnded(4242, 0, null, true);
    w.sources([{ file: "/srv/app.py", start: 3, lines: ["a", "b"] }]);
    w.setMeta("complete", true);
    w.close();
    expect(fs.existsSync(file + "-wal")).toBe(false);

    const c = readCapture(file);
    expect(c.meta.complete).toBe(true);
    expect(c.meta.notes).toEqual(["n1"]);
    const p = c.processes[0]!;
    expect(p.pid).toBe(4242);
    expect(p.python).toBe("3.12.1");
    expect(p.collector.name).toBe("tracemalloc");
    expect(p.samples.map((s) => s.heap)).toEqual([5e6, 5e6 + 1, 5e6 + 2]);
    expect(Array.from(p.sites.get(1)!.bytes)).toEqual([100, 100, 300]);
    expect(Array.from(p.sites.get(1)!.count)).toEqual([1, 1, 3]);
    expect(p.stacks.get(1)![0]!.function).toBe("handle");
    expect(p.active.get(2)).toEqual([[0, 3], [1, 3], [2, 3]]);
    expect(p.logs).toEqual([{ level: "warning", message: "careful" }]);
    expect(p.explanations[0]!.results[0]!.paths[0]!.root).toBe("module app");
    expect(p.explanations[0]!.reason).toBe("exit");
    expect(p.exitCode).toBe(0);
    expect(p.exited).toBe(true);
    expect(c.sources.get("/srv/app.py")!.lines).toEqual(["a", "b"]);
  });

  it("sites that appear later have unknown (NaN) values before", () => {
    const file = tmp("late.lhdb");
    const w = new CaptureWriter(file, { leakhoundVersion: "t", createdAt: 1, argv: [], cwd: "/", complete: true, exitCode: 0, signal: null, notes: [] });
    w.hello(hello);
    w.sample(4242, sample(0, []));
    w.sample(4242, sample(1, [[7, 50, 1]]));
    w.close();
    const s = readCapture(file).processes[0]!.sites.get(7)!;
    expect(Number.isNaN(s.bytes[0])).toBe(true);
    expect(s.bytes[1]).toBe(50);
  });

  it("rejects files that are not captures with a CaptureError", () => {
    const junk = tmp("junk.lhdb");
    fs.writeFileSync(junk, "hello");
    expect(() => readCapture(junk)).toThrow(CaptureError);
    expect(() => readCapture(tmp("missing.lhdb"))).toThrow(/no such file/);
  });

  it("a capture read while it is still being written (WAL) shows the data so far", () => {
    const file = tmp("live.lhdb");
    const w = new CaptureWriter(file, { leakhoundVersion: "t", createdAt: 1, argv: [], cwd: "/", complete: false, exitCode: null, signal: null, notes: [] });
    w.hello(hello);
    w.sample(4242, sample(0, [[1, 10, 1]]));
    const c = readCapture(file);
    expect(c.meta.complete).toBe(false);
    expect(c.processes[0]!.samples.length).toBe(1);
    w.close();
  });
});
