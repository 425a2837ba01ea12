// The recorder is the one live model of a run: what it holds while the target runs
// is exactly what `leakhound report` reads back from the file it wrote through.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Recorder } from "../../src/capture/recorder.js";
import { readCapture } from "../../src/capture/store.js";
import type { Capture } from "../../src/capture/model.js";
import { analyze } from "../../src/analysis/analyze.js";
import type { HelloMessage, SampleMessage, SiteTuple } from "../../src/protocol/messages.js";
import { ROOT } from "../helpers/cli.js";
import { exitSearch, rng } from "../helpers/synthetic.js";

function hello(pid: number, ppid: number): HelloMessage {
  return {
    type: "hello",
    v: 1,
    pid,
    ppid,
    python: "3.12.1",
    implementation: "cpython",
    executable: "/usr/bin/python3",
    argv: ["python3", "app.py"],
    cwd: "/srv",
    startedAt: 1_700_000_000_000 + pid,
    collector: { name: "sampling", intervalSec: 0.5, nframes: 16, sampleBytes: 32768 },
  };
}

function sample(seq: number, sites: SiteTuple[], native: SiteTuple[] = []): SampleMessage {
  return {
    type: "sample",
    seq,
    t: 0.5 * (seq + 1),
    rss: 2e7 + seq * 1000.4,
    heap: 1e7 + seq * 777.7,
    overhead: 1000,
    gcEnabled: seq % 7 !== 3,
    sites,
    native,
    otherBytes: 5e5 + seq,
    otherCount: 10,
    active: seq % 2 ? [[1, 3]] : [],
    cost: 0.0012,
  };
}

/** Comparable form: typed arrays as plain arrays, maps as sorted entries. */
function plain(c: Capture): unknown {
  return JSON.parse(
    JSON.stringify(c, (_k, v) => {
      if (v instanceof Map) return [...v.entries()].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
      if (ArrayBuffer.isView(v)) return Array.from(v as Float64Array, (x) => (Number.isNaN(x) ? "NaN" : x));
      return v;
    }),
  );
}

function record(file: string): Recorder {
  const r = rng(7);
  const rec = Recorder.toFile(file, { leakhoundVersion: "t", createdAt: 1, argv: ["python3", "app.py"], cwd: "/srv", complete: false, exitCode: null, signal: null, notes: [] });
  rec.hello(hello(100, 1));
  rec.stacks(100, [
    { id: 1, frames: [{ file: "/srv/app.py", line: 9, function: "handle" }] },
    { id: 2, frames: [{ file: "/srv/app.py", line: 12, function: "cache" }] },
  ]);
  for (let seq = 0; seq < 300; seq++) {
    // Changes only, as the agent sends them: a site appears late, another stops moving.
    const sites: SiteTuple[] = [[1, 1000 * seq + r() * 10, seq]];
    if (seq >= 40 && seq < 120) sites.push([2, 5e5 + seq * 3.3, 9]);
    // A site whose objects die onto a free list (the sampler's 5-wide tuples).
    if (seq >= 60 && seq % 3 === 0) sites.push([4, 2e5 + seq * 100, seq, seq * 40, seq < 90 ? 1 : 4]);
    if (seq > 200 && seq % 10 === 0) sites.push([3, 123.6, 1]);
    rec.sample(100, sample(seq, sites, seq % 5 === 0 ? [[2, 4096 * seq, seq]] : []));
    if (seq === 150) rec.log(100, "warning", "careful");
  }
  rec.sample(100, sample(299, [[1, 0, 0]])); // a repeated sequence number is ignored, as the file does
  rec.hello(hello(101, 100));
  rec.sample(101, sample(0, [[1, 10, 1]]));
  rec.unsupported(102, "3.7.1", "too old");
  rec.explanation(100, exitSearch([{ stackId: 1, found: 3, sampled: 3, unreachable: false, paths: [] }]));
  rec.processEnded(100, 0, null, true);
  rec.sources([{ file: "/srv/app.py", start: 8, lines: ["a", "b", "c"] }]);
  rec.setMeta("stoppedBy", "leakhound");
  rec.setMeta("notes", ["n1"]);
  rec.setMeta("complete", true);
  return rec;
}

describe("recorder", () => {
  it("holds exactly what the file it writes through reads back as", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-rec-"));
    const file = path.join(dir, "c.lhdb");
    const rec = record(file);
    const live = rec.snapshot();
    rec.close();
    const replayed = readCapture(file);
    expect(plain(live)).toEqual(plain(replayed));
    // And so the analysis of the run equals the analysis of its capture.
    expect(analyze(live)).toEqual(analyze(replayed));
  });

  it("a snapshot is not changed by later samples", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-rec-"));
    const rec = Recorder.toFile(path.join(dir, "c.lhdb"), { leakhoundVersion: "t", createdAt: 1, argv: [], cwd: "/", complete: false, exitCode: null, signal: null, notes: [] });
    rec.hello(hello(100, 1));
    for (let seq = 0; seq < 64; seq++) rec.sample(100, sample(seq, [[1, seq, 1]]));
    const before = rec.snapshot().processes[0]!;
    for (let seq = 64; seq < 500; seq++) rec.sample(100, sample(seq, [[1, seq, 1], [2, 1, 1]]));
    expect(before.samples.length).toBe(64);
    expect(Array.from(before.sites.get(1)!.bytes)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(before.sites.has(2)).toBe(false);
    expect(rec.snapshot().processes[0]!.sites.get(2)!.bytes.length).toBe(500);
    rec.close();
  });

  it("the host feeds it and imports neither the CLI nor the analysis; nothing re-reads the capture during a run", () => {
    const host = fs.readdirSync(path.join(ROOT, "src", "host")).map((f) => fs.readFileSync(path.join(ROOT, "src", "host", f), "utf8"));
    for (const text of host) expect(text).not.toMatch(/from "\.\.\/(cli|analysis)\//);
    for (const f of ["src/host/session.ts", "src/host/agent-server.ts", "src/cli/run-command.ts"]) {
      expect(fs.readFileSync(path.join(ROOT, f), "utf8"), f).not.toMatch(/readCapture/);
    }
  });
});
