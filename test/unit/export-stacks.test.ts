// The weighted-stacks step every export reads, and the text formats built on it.
import { describe, expect, it } from "vitest";
import { OTHER_FRAME, selectProcesses, weightedStacks } from "../../src/export/stacks.js";
import { foldedStacks } from "../../src/export/folded.js";
import { at, synthCapture } from "../helpers/synthetic.js";

describe("weighted stacks", () => {
  it("in use is the last figure; allocated is the sum of the rises from zero", () => {
    // 1000, 3000, 2000, 5000 bytes: rises 1000 + 2000 + 3000 = 6000 allocated at least.
    const values = [1000, 3000, 2000, 5000];
    const capture = synthCapture({ seconds: 2, sites: [{ frames: [at(12, "parse"), at(30, "main")], bytes: (_t, i) => values[i] ?? 0, count: (_t, i) => (values[i] ?? 0) / 100 }], other: () => 0 });
    const [p] = weightedStacks(selectProcesses(capture)!);
    expect(p.stacks).toHaveLength(1);
    expect(p.stacks[0].values).toEqual({ inuse_space: 5000, inuse_objects: 50, alloc_space: 6000, alloc_objects: 60 });
  });

  it("the heap's untracked remainder is one stack of its own", () => {
    const capture = synthCapture({ seconds: 2, sites: [], other: () => 4096 });
    const [p] = weightedStacks(selectProcesses(capture)!);
    expect(p.stacks.map((s) => s.frames[0])).toEqual([OTHER_FRAME]);
    expect(p.stacks[0].values.inuse_space).toBe(4096);
  });

  it("several processes: each stack under a 'pid N: command' root; --pid picks one", () => {
    const capture = synthCapture([
      { pid: 10, seconds: 2, sites: [{ frames: [at(12, "parse")], bytes: () => 2048 }], other: () => 0 },
      { pid: 11, ppid: 10, argv: ["worker.py", "--id", "1"], seconds: 2, sites: [{ frames: [at(20, "work")], bytes: () => 1024 }], other: () => 0 },
    ]);
    const all = foldedStacks(weightedStacks(selectProcesses(capture)!), "inuse_space");
    expect(all).toBe("pid 10: main.py;parse (main.py:12) 2048\npid 11: worker.py --id 1;work (main.py:20) 1024\n");
    const one = foldedStacks(weightedStacks(selectProcesses(capture, 11)!), "inuse_space");
    expect(one).toBe("work (main.py:20) 1024\n");
    expect(selectProcesses(capture, 99)).toBeNull();
  });

  it("folded names never hold the format's separators", () => {
    const capture = synthCapture({ seconds: 2, sites: [{ frames: [{ file: "/home/dev/app/a;b.py", line: 3, function: "f\nx" }], bytes: () => 100 }], other: () => 0 });
    const text = foldedStacks(weightedStacks(selectProcesses(capture)!), "inuse_space");
    expect(text).toBe("f,x (a,b.py:3) 100\n");
  });
});
