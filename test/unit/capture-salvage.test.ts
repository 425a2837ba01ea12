// Reading captures that are cut short, damaged, or lack their -wal: the report
// covers what is left (marked partial), and reading never creates files.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CaptureError, CaptureWriter, readCapture } from "../../src/capture/store.js";
import Database from "better-sqlite3";
import { readWal } from "../../src/capture/salvage.js";
import type { Capture } from "../../src/capture/model.js";
import { analyze } from "../../src/analysis/analyze.js";
import { reportErrors } from "../helpers/schema.js";
import { exitSearch } from "../helpers/synthetic.js";
import type { HelloMessage, SampleMessage } from "../../src/protocol/messages.js";

const PID = 4242;
const hello: HelloMessage = {
  type: "hello",
  v: 1,
  pid: PID,
  ppid: 1,
  python: "3.12.1",
  implementation: "cpython",
  executable: "/usr/bin/python3",
  argv: ["python3", "app.py"],
  cwd: "/srv",
  startedAt: 1_700_000_000_000,
  collector: { name: "sampling", intervalSec: 0.5, nframes: 16, sampleBytes: 32768 },
};

/** Site 1 leaks (grows every sample), sites 2..9 wobble, so every row carries changes. */
function sample(seq: number): SampleMessage {
  const sites: [number, number, number][] = [[1, 1000 + seq * 4096, 1 + seq]];
  for (let id = 2; id < 10; id++) sites.push([id, 5000 + ((seq * id) % 13) * 64, 3]);
  return { type: "sample", seq, t: seq * 0.5, rss: 2e7 + seq * 5000, heap: 1e7 + seq * 4096, overhead: 1000, gcEnabled: true, sites, otherBytes: 10, otherCount: 1, active: [[1, 1]], cost: 0.001 };
}

function tmpDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), "lh-salvage-"));
}

function meta() {
  return { leakhoundVersion: "t", createdAt: 1, argv: ["python3", "app.py"], cwd: "/srv", complete: false, exitCode: null, signal: null, notes: [] };
}

/** A capture written the way `leakhound run` writes one: open, many samples, then (unless told) closed. */
function writeCapture(file: string, samples: number, close = true): CaptureWriter {
  const w = new CaptureWriter(file, meta());
  w.hello(hello);
  w.stacks(PID, Array.from({ length: 9 }, (_, i) => ({ id: i + 1, frames: [{ file: "/srv/app.py", line: 10 + i, function: `f${i}` }] })));
  for (let i = 0; i < samples; i++) w.sample(PID, sample(i));
  w.log(PID, "warning", "careful");
  // A large value, so the processes row spills onto overflow pages written last.
  w.explanation(PID, exitSearch([{ stackId: 1, found: 3, sampled: 3, unreachable: false, paths: [{ rootKind: "module global", root: "module app", steps: Array.from({ length: 400 }, (_, i) => `step ${i} (list)`), objects: 3, bytes: 300 }] }]));
  w.processEnded(PID, 0, null, true);
  w.sources([{ file: "/srv/app.py", start: 3, lines: ["a", "b"] }]);
  if (close) {
    w.setMeta("complete", true);
    w.close();
  }
  return w;
}

/** Checks the recovered samples are exactly the original ones (a prefix of them, in order, figures intact); returns how many. */
function expectFaithful(c: Capture): number {
  const p = c.processes.find((x) => x.pid === PID);
  if (!p) return 0;
  const n = p.samples.length;
  const wrong: string[] = [];
  p.samples.forEach((s, i) => {
    if (s.seq !== i || s.heap !== 1e7 + i * 4096) wrong.push(`sample ${i}: seq ${s.seq} heap ${s.heap}`);
  });
  if (n > 0) {
    const leak = p.sites.get(1);
    const wobble = p.sites.get(5);
    if (!leak || !wobble) wrong.push("site 1 or 5 missing");
    else
      for (let i = 0; i < n; i++) {
        if (leak.bytes[i] !== 1000 + i * 4096) wrong.push(`site 1 at ${i}: ${leak.bytes[i]}`);
        if (wobble.bytes[i] !== 5000 + ((i * 5) % 13) * 64) wrong.push(`site 5 at ${i}: ${wobble.bytes[i]}`);
      }
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  return n;
}

function cut(src: string, bytes: number, dir: string, name = `cut-${bytes}.lhdb`): string {
  const out = path.join(dir, name);
  const fd = fs.openSync(src, "r");
  const buf = Buffer.alloc(bytes);
  fs.readSync(fd, buf, 0, bytes, 0);
  fs.closeSync(fd);
  fs.writeFileSync(out, buf);
  return out;
}

describe("reading a truncated capture", () => {
  const dir = tmpDir();
  const full = path.join(dir, "full.lhdb");
  writeCapture(full, 3000);
  const size = fs.statSync(full).size;
  const pageSize = fs.readFileSync(full).readUInt16BE(16);

  it("the whole capture reads back complete", () => {
    const c = readCapture(full);
    expect(c.meta.complete).toBe(true);
    expect(expectFaithful(c)).toBe(3000);
    expect(c.processes[0]!.explanations[0]!.results[0]!.paths[0]!.steps.length).toBe(400);
  });

  it("cut at every 5% from 5% to 95%: a partial capture of what is left, more samples as the cut moves later", () => {
    expect(size / pageSize).toBeGreaterThan(40); // so that 5% is past the first page
    let previous = -1;
    for (let pct = 5; pct <= 95; pct += 5) {
      const c = readCapture(cut(full, Math.floor((size * pct) / 100), dir));
      expect(c.meta.complete).toBe(false);
      expect(c.meta.notes.join("\n")).toMatch(/the capture was cut short at \d+% of its pages \(\d+ of \d+\): the report covers what is left/);
      const n = expectFaithful(c);
      expect(n).toBeGreaterThanOrEqual(previous);
      previous = n;
      if (pct >= 50) expect(n).toBeGreaterThan(0);
    }
    expect(previous).toBeGreaterThan(3000 * 0.85);
  });

  it("cut at every page boundary and inside pages: never an error, never fewer samples for a longer cut", () => {
    const small = path.join(dir, "small.lhdb");
    writeCapture(small, 800);
    const smallSize = fs.statSync(small).size;
    let previous = -1;
    for (let at = pageSize; at < smallSize; at += Math.floor(pageSize / 3)) {
      const c = readCapture(cut(small, at, dir, "walk.lhdb"));
      expect(c.meta.complete).toBe(false);
      const n = expectFaithful(c);
      expect(n).toBeGreaterThanOrEqual(previous);
      previous = n;
    }
  });

  it("a cut that loses the process row's overflow keeps the process and says its reference paths were lost", () => {
    const c = readCapture(cut(full, size - pageSize, dir));
    const p = c.processes[0]!;
    expect(p.python).toBe("3.12.1");
    expect(p.explanations).toEqual([]);
    expect(c.meta.notes.join("\n")).toMatch(/reference paths of process 4242 were on lost pages/);
  });

  it("a cut inside the first page is a one-line CaptureError", () => {
    for (const at of [5, 50, 99, 100, 1000, pageSize - 1]) {
      const f = cut(full, at, dir);
      expect(() => readCapture(f)).toThrow(CaptureError);
      expect(() => readCapture(f)).toThrow(/cut short inside its first page/);
    }
  });
});

describe("reading a damaged capture", () => {
  it("a leaf whose parent page is lost is given back to its table by its records' shape", () => {
    const dir = tmpDir();
    const file = path.join(dir, "c.lhdb");
    writeCapture(file, 3000);
    const buf = fs.readFileSync(file);
    const pageSize = buf.readUInt16BE(16);
    // The samples table's root (an interior page once the table grew): zero it.
    const db = new Database(Buffer.from(buf), { readonly: true });
    const root = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'samples'").pluck().get() as number;
    db.close();
    expect(buf[(root - 1) * pageSize]).toBe(0x05);
    buf.fill(0, (root - 1) * pageSize, root * pageSize);
    fs.writeFileSync(file, buf);
    const c = readCapture(file);
    expect(c.meta.complete).toBe(false);
    expect(c.meta.notes.join("\n")).toMatch(/the capture is damaged/);
    expect(expectFaithful(c)).toBe(3000);
  });

  it("a lost process row: its samples still make a process, with a note, and a valid report", () => {
    const dir = tmpDir();
    const file = path.join(dir, "c.lhdb");
    writeCapture(file, 600);
    const buf = fs.readFileSync(file);
    const pageSize = buf.readUInt16BE(16);
    const db = new Database(Buffer.from(buf), { readonly: true });
    const root = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'processes'").pluck().get() as number;
    db.close();
    buf.fill(0, (root - 1) * pageSize, root * pageSize);
    fs.writeFileSync(file, buf);
    const c = readCapture(file);
    expect(c.meta.notes.join("\n")).toMatch(/the description of process 4242 .* was lost/);
    expect(expectFaithful(c)).toBe(600);
    expect(c.processes[0]!.collector.intervalSec).toBe(0.5);
    const report = analyze(c, { capturePath: file, leakhoundVersion: "t" });
    expect(reportErrors(JSON.parse(JSON.stringify(report)))).toBeNull();
    expect(report.partial).toBe(true);
    expect(report.verdict).toBe("leak");
  });

  it("garbage in the middle of the file: a partial capture, not an error", () => {
    const dir = tmpDir();
    const file = path.join(dir, "c.lhdb");
    writeCapture(file, 3000);
    const buf = fs.readFileSync(file);
    const pageSize = buf.readUInt16BE(16);
    for (let i = 20 * pageSize; i < 22 * pageSize; i++) buf[i] = (i * 7919) & 0xff;
    fs.writeFileSync(file, buf);
    const c = readCapture(file);
    expect(c.meta.complete).toBe(false);
    expect(c.meta.notes.join("\n")).toMatch(/the capture is damaged/);
    expectFaithful(c);
  });
});

describe("reading a capture with random damage", () => {
  it("gives a capture that can be analysed, or a CaptureError, never another error (seeded random damage and cuts)", () => {
    const dir = tmpDir();
    const file = path.join(dir, "c.lhdb");
    writeCapture(file, 600);
    const original = fs.readFileSync(file);
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let read = 0;
    for (let round = 0; round < 150; round++) {
      const buf = Buffer.from(original);
      for (let k = rand(6); k >= 0; k--) {
        const at = rand(buf.length);
        const len = 1 + rand(rand(2) ? 8 : 4096);
        for (let i = at; i < Math.min(buf.length, at + len); i++) buf[i] = rand(256);
      }
      const f = path.join(dir, "damaged.lhdb");
      fs.writeFileSync(f, rand(3) === 0 ? buf.subarray(0, rand(buf.length)) : buf);
      let c: Capture | null = null;
      try {
        c = readCapture(f);
        read++;
      } catch (err) {
        expect(err).toBeInstanceOf(CaptureError);
        expect(String((err as Error).message)).not.toMatch(/\n/);
      }
      // What was read can be analysed.
      if (c) expect(analyze(c, { capturePath: f, leakhoundVersion: "t" }).schema).toBe("leakhound/report@1");
    }
    expect(read).toBeGreaterThan(75);
  });
});

describe("files that are not captures, or lack their -wal", () => {
  it("an empty file is not a capture", () => {
    const f = path.join(tmpDir(), "empty.lhdb");
    fs.writeFileSync(f, "");
    expect(() => readCapture(f)).toThrow(/is an empty file, not a leakhound capture/);
  });

  it("a capture of a run that did not close it, copied without its -wal: the message says the -wal is missing", () => {
    const dir = tmpDir();
    const file = path.join(dir, "live.lhdb");
    const w = writeCapture(file, 20, false);
    try {
      const alone = path.join(tmpDir(), "copied.lhdb");
      fs.copyFileSync(file, alone);
      expect(() => readCapture(alone)).toThrow(CaptureError);
      expect(() => readCapture(alone)).toThrow(/copied\.lhdb-wal file is missing/);
      // With its -wal beside it, it reads.
      fs.copyFileSync(file + "-wal", alone + "-wal");
      expect(readCapture(alone).processes[0]!.samples.length).toBe(20);
    } finally {
      w.close();
    }
  });

  it("a long run's capture copied without its -wal: what was folded into the file, with a note", () => {
    const dir = tmpDir();
    const file = path.join(dir, "live.lhdb");
    const w = writeCapture(file, 3000, false); // long enough for SQLite to fold the WAL into the file
    try {
      const alone = path.join(tmpDir(), "copied.lhdb");
      fs.copyFileSync(file, alone);
      const c = readCapture(alone);
      expect(c.meta.complete).toBe(false);
      expect(c.meta.notes.join("\n")).toMatch(/copied\.lhdb-wal file is missing/);
      expect(expectFaithful(c)).toBeGreaterThan(0);
    } finally {
      w.close();
    }
  });

  it("a -wal cut short: its committed transactions are applied, the rest ignored", () => {
    const dir = tmpDir();
    const file = path.join(dir, "live.lhdb");
    const w = writeCapture(file, 40, false);
    try {
      const copy = path.join(tmpDir(), "copy.lhdb");
      fs.copyFileSync(file, copy);
      const wal = fs.readFileSync(file + "-wal");
      fs.writeFileSync(copy + "-wal", wal.subarray(0, Math.floor(wal.length / 2)));
      const n = expectFaithful(readCapture(copy));
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(40);
      // The salvage's own WAL reader agrees on where the last whole commit ends.
      const { dbSize, pages } = readWal(wal.subarray(0, Math.floor(wal.length / 2)), 4096);
      expect(dbSize).toBeGreaterThan(0);
      expect(pages.size).toBeGreaterThan(0);
    } finally {
      w.close();
    }
  });

  it("a cut capture with its -wal: salvaged through the -wal's pages", () => {
    const dir = tmpDir();
    const file = path.join(dir, "live.lhdb");
    const w = writeCapture(file, 3000, false);
    try {
      const d2 = tmpDir();
      const copy = cut(file, Math.floor(fs.statSync(file).size / 2), d2, "copy.lhdb");
      fs.copyFileSync(file + "-wal", copy + "-wal");
      const c = readCapture(copy);
      expect(c.meta.complete).toBe(false);
      expect(expectFaithful(c)).toBeGreaterThan(0);
    } finally {
      w.close();
    }
  });
});

describe("reading creates no files", () => {
  const listing = (dir: string) =>
    fs
      .readdirSync(dir)
      .sort()
      .map((n) => `${n}:${fs.statSync(path.join(dir, n)).size}`);

  it("a closed capture: its directory is left exactly as it was", () => {
    const dir = tmpDir();
    const file = path.join(dir, "c.lhdb");
    writeCapture(file, 50);
    const before = listing(dir);
    const mtime = fs.statSync(file).mtimeMs;
    readCapture(file);
    readCapture(cut(file, Math.floor(fs.statSync(file).size / 2), dir, "half.lhdb"));
    expect(listing(dir)).toEqual([...before, `half.lhdb:${fs.statSync(path.join(dir, "half.lhdb")).size}`].sort());
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  it("a capture left in WAL mode without its -wal: no -wal or -shm appears", () => {
    const dir = tmpDir();
    const file = path.join(dir, "live.lhdb");
    const w = writeCapture(file, 3000, false);
    try {
      const d2 = tmpDir();
      fs.copyFileSync(file, path.join(d2, "copied.lhdb"));
      readCapture(path.join(d2, "copied.lhdb"));
      expect(fs.readdirSync(d2)).toEqual(["copied.lhdb"]);
      // And with its -wal: the -wal is read, not changed, and no -shm appears.
      fs.copyFileSync(file + "-wal", path.join(d2, "copied.lhdb-wal"));
      const before = listing(d2);
      readCapture(path.join(d2, "copied.lhdb"));
      expect(listing(d2)).toEqual(before);
    } finally {
      w.close();
    }
  });
});
