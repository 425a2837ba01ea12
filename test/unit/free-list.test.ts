// Memory reused from CPython's free lists: the capture keeps a site's free-list bytes, and a leak
// whose growth is such memory is marked and ranked after the sites whose own objects grow.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { analyze } from "../../src/analysis/analyze.js";
import { freeListTargets, retainerTargets } from "../../src/analysis/targets.js";
import { CaptureWriter, readCapture } from "../../src/capture/store.js";
import { FREE_LIST, type HelloMessage, type SampleMessage, type SiteTuple } from "../../src/protocol/messages.js";
import { renderTerminal } from "../../src/report/terminal.js";
import { reportErrors } from "../helpers/schema.js";
import { at, shape, synthCapture } from "../helpers/synthetic.js";

const MB = 1024 * 1024;

const hello: HelloMessage = {
  type: "hello",
  v: 1,
  pid: 7,
  ppid: 1,
  python: "3.12.1",
  implementation: "cpython",
  executable: "/usr/bin/python3",
  argv: ["python3", "app.py"],
  cwd: "/srv",
  startedAt: 1,
  collector: { name: "sampling", intervalSec: 0.5, nframes: 16, sampleBytes: 32768 },
};

function sample(seq: number, sites: SiteTuple[]): SampleMessage {
  return { type: "sample", seq, t: seq * 0.5, rss: 1e7, heap: 5e6, overhead: 1000, gcEnabled: true, sites, otherBytes: 0, otherCount: 0, active: [], cost: 0 };
}

function write(samples: SiteTuple[][]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-fl-")), "c.lhdb");
  const w = new CaptureWriter(file, { leakhoundVersion: "t", createdAt: 1, argv: ["python3", "app.py"], cwd: "/srv", complete: true, exitCode: 0, signal: null, notes: [] });
  w.hello(hello);
  samples.forEach((sites, i) => w.sample(7, sample(i, sites)));
  w.close();
  return file;
}

describe("free-list bytes in the capture", () => {
  it("keeps a site's free-list bytes and kinds, from the sample where they first appear", () => {
    const file = write([
      [[1, 100, 1], [2, 50, 1]],
      [[1, 200, 2, 150, FREE_LIST.dict], [2, 50, 1]],
      [[1, 200, 2, 150, FREE_LIST.dict], [2, 60, 1]], // unchanged: stored as no change
      [[1, 400, 4, 350, FREE_LIST.dict | FREE_LIST.tuple], [2, 60, 1]],
    ]);
    const p = readCapture(file).processes[0]!;
    const s1 = p.sites.get(1)!;
    expect(Array.from(s1.bytes)).toEqual([100, 200, 200, 400]);
    expect(Array.from(s1.freeListBytes!)).toEqual([0, 150, 150, 350]);
    expect(s1.freeListKinds).toBe(FREE_LIST.dict | FREE_LIST.tuple);
    const s2 = p.sites.get(2)!;
    expect(Array.from(s2.bytes)).toEqual([50, 50, 60, 60]);
    expect(s2.freeListBytes).toBeUndefined();
  });

  it("reads captures of plain [id, bytes, count] sites as before", () => {
    const p = readCapture(write([[[1, 100, 1]], [[1, 300, 3]]])).processes[0]!;
    expect(Array.from(p.sites.get(1)!.bytes)).toEqual([100, 300]);
    expect(Array.from(p.sites.get(1)!.count)).toEqual([1, 3]);
    expect(p.sites.get(1)!.freeListBytes).toBeUndefined();
  });
});

describe("leaks of memory reused from free lists", () => {
  // Line 20 builds the leaked objects; line 22's dead objects' memory is what they reuse, so line
  // 22 grows faster (all of it on the dict free list) while line 20 only gets the rest.
  function capture() {
    const c = synthCapture({
      collector: "sampling",
      sites: [
        { frames: [at(20)], bytes: shape.linear(0, 1 * MB) },
        { frames: [at(22)], bytes: shape.linear(0, 2 * MB) },
        { frames: [at(30)], bytes: shape.flat(3 * MB) },
      ],
    });
    const response = [...c.processes[0]!.sites.values()][1]!;
    response.freeListBytes = Float64Array.from(response.bytes);
    response.freeListKinds = FREE_LIST.dict;
    const flat = [...c.processes[0]!.sites.values()][2]!;
    flat.freeListBytes = new Float64Array(flat.bytes.length).fill(1 * MB);
    flat.freeListKinds = FREE_LIST.tuple;
    return c;
  }

  it("ranks the line that makes the leaked objects above the line whose memory they reuse, and marks it", () => {
    const r = analyze(capture());
    expect(reportErrors(r)).toBeNull();
    expect(r.verdict).toBe("leak");
    expect(r.leaks.map((l) => l.site?.line)).toEqual([20, 22]);
    expect(r.leaks[0]!.reusedFromFreeList).toBeUndefined();
    expect(r.leaks[1]!.reusedFromFreeList).toBe(true);
    expect(r.leaks[1]!.freeLists).toEqual(["dict"]);
    expect(r.leaks[1]!.freeListBytes).toBeGreaterThan(20 * MB);
    expect(r.reason).toMatch(/main\.py:20/);
    const row = r.sites.find((s) => s.site?.line === 30)!;
    expect(row.freeListBytes).toBe(1 * MB);
    expect(row.freeLists).toEqual(["tuple"]);
  });

  it("says so on the terminal card", () => {
    const text = renderTerminal(analyze(capture()), { color: false });
    const card = text.slice(text.indexOf("#2 python leak"));
    expect(card).toMatch(/memory here was reused from CPython's dict free list by objects made on other lines/);
    expect(text.slice(0, text.indexOf("#2 python leak"))).not.toMatch(/free list/);
  });

  it("says where the memory went when the search at exit found no object of that line", () => {
    const c = capture();
    const [leakId, responseId] = [...c.processes[0]!.sites.keys()];
    const path = { root: "module __main__", rootKind: "module", steps: ["HEADERS (list)", "[*] (dict)"], objects: 4, bytes: 400 };
    c.processes[0]!.explanations = [
      {
        reason: "exit",
        t: null,
        at: null,
        results: [
          { stackId: leakId!, found: 4, sampled: 4, unreachable: false, paths: [path] },
          { stackId: responseId!, found: 0, sampled: 0, unreachable: false, paths: [] },
        ],
        visited: 0,
        elapsedSec: 0,
        truncated: false,
      },
    ] as any;
    const r = analyze(c);
    expect(reportErrors(r)).toBeNull();
    expect(r.leaks[0]!.retainers[0]!.text).toMatch(/^module __main__ → HEADERS/);
    expect(r.leaks[1]!.retainers).toEqual([]);
    expect(r.leaks[1]!.retainerNote).toMatch(/reused from CPython's free list by objects other lines made; their paths are under those lines' leaks/);
  });

  it("asks the search to count the free-listed memory of that line only", () => {
    // The agent skips an object in a block whose first object died onto a free list (made by another
    // line) except for the stacks named in freeListStackIds: there those objects are the story.
    const proc = capture().processes[0]!;
    const ids = [...proc.sites.keys()];
    const targets = retainerTargets(proc, 10);
    expect(targets).toEqual(expect.arrayContaining([ids[0], ids[1]]));
    expect(freeListTargets(proc, targets)).toEqual([ids[1]]);
    expect(freeListTargets(proc, ids)).toEqual([ids[1]]); // the flat line's free-list memory did not grow
    expect(freeListTargets(proc, [])).toEqual([]);
  });
});
