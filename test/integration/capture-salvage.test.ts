// `leakhound report` on real captures that were cut short, left by a killed
// leakhound, or copied without their -wal: a partial report of what is left (or
// one clear line, exit 4), never a stack trace, and never a new file next to the capture.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { runCli, runLeakhound, signalOnceStarted, tempDir } from "../helpers/cli.js";
import { reportErrors } from "../helpers/schema.js";

function expectOneLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split("\n").filter((l) => l.startsWith("leakhound:"));
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no JS stack trace
}

/** Every file in `dir` with its size and modification time. */
function listing(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .sort()
    .map((n) => {
      const st = fs.statSync(path.join(dir, n));
      return `${n}:${st.size}:${st.mtimeMs}`;
    });
}

function samplesIn(report: any): number {
  return (report.processes ?? []).reduce((n: number, p: any) => n + (p.series?.length ?? 0), 0);
}

describe("leakhound report on a cut capture of a real run", () => {
  it("cut at every 5% from 5% to 95%: a partial report (or, inside the first page, one line and exit 4); more samples as the cut moves later", async () => {
    const run = await runLeakhound(["python3", "leak_registry.py"], ["--quiet", "--interval", "0.02"], { env: { LEAK_SECONDS: "6" } });
    expect(run.code).toBe(0);
    const capture = path.join(run.dir, "capture.lhdb");
    const bytes = fs.readFileSync(capture);
    const pageSize = bytes.readUInt16BE(16);
    const fullSamples = samplesIn(run.report);
    const cutDir = tempDir();
    let previous = -1;
    let reports = 0;
    for (let pct = 5; pct <= 95; pct += 5) {
      const keep = Math.floor((bytes.length * pct) / 100);
      const cut = path.join(cutDir, `cut-${pct}.lhdb`);
      fs.writeFileSync(cut, bytes.subarray(0, keep));
      const json = path.join(cutDir, `cut-${pct}.json`);
      const before = listing(cutDir);
      const r = await runCli(["report", cut, "--json", json, "--quiet", "--fail-on-leak"]);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
      if (keep < pageSize) {
        expect(r.code).toBe(4);
        expectOneLine(r.stderr, /cut short inside its first page/);
        continue;
      }
      const report = JSON.parse(fs.readFileSync(json, "utf8"));
      expect(reportErrors(report)).toBeNull();
      expect(r.code).toBe(report.verdict === "leak" ? 3 : 0);
      expect(report.partial).toBe(true);
      expect(report.notes.join("\n")).toMatch(/the capture was cut short at \d+% of its pages/);
      const n = samplesIn(report);
      expect(n).toBeGreaterThanOrEqual(previous);
      expect(n).toBeLessThanOrEqual(fullSamples);
      previous = n;
      reports++;
      // Reading wrote only the report asked for: nothing next to the capture.
      expect(listing(cutDir).filter((l) => !l.startsWith(`cut-${pct}.json:`))).toEqual(before);
    }
    expect(reports).toBeGreaterThanOrEqual(17);
    expect(previous).toBeGreaterThan(0);
  });
});

describe("leakhound report on the capture of a killed leakhound", () => {
  // Killed 4 s after its target starts (which leaves a loaded machine time to connect and sample), well
  // before the target's 8 s are over.
  it("reads the data from the -wal, changes nothing next to it, and says so when the -wal was not copied", { retry: 1 }, async () => {
    const run = await runLeakhound(["python3", "leak_registry.py"], ["--quiet", "--interval", "0.1"], {
      env: { LEAK_SECONDS: "8" },
      onSpawn: (child) => signalOnceStarted(child, /leak_registry\.py/, 4000, "SIGKILL"),
    });
    expect(run.signal).toBe("SIGKILL");
    const capture = path.join(run.dir, "capture.lhdb");
    expect(fs.existsSync(capture + "-wal")).toBe(true);

    // With its -wal beside it: a partial report, and the directory as it was.
    const before = listing(run.dir);
    const json = path.join(tempDir(), "r.json");
    const r = await runCli(["report", capture, "--json", json, "--quiet"]);
    expect(r.code).toBe(0);
    expect(listing(run.dir)).toEqual(before);
    const report = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(reportErrors(report)).toBeNull();
    expect(report.partial).toBe(true);
    expect(samplesIn(report)).toBeGreaterThan(5);

    // The pair copied without the -shm: still read, and no -shm (or anything else) appears.
    const pair = tempDir();
    fs.copyFileSync(capture, path.join(pair, "c.lhdb"));
    fs.copyFileSync(capture + "-wal", path.join(pair, "c.lhdb-wal"));
    const pairBefore = listing(pair);
    const r2 = await runCli(["report", path.join(pair, "c.lhdb"), "--quiet"]);
    expect(r2.code).toBe(0);
    expect(listing(pair)).toEqual(pairBefore);

    // The capture copied alone: the message names the missing -wal.
    const alone = tempDir();
    fs.copyFileSync(capture, path.join(alone, "c.lhdb"));
    const json3 = path.join(tempDir(), "r3.json");
    const r3 = await runCli(["report", path.join(alone, "c.lhdb"), "--json", json3, "--quiet"]);
    expect(fs.readdirSync(alone)).toEqual(["c.lhdb"]);
    if (r3.code === 4) expectOneLine(r3.stderr, /c\.lhdb-wal file is missing/);
    else {
      // SQLite had already folded part of the WAL into the file: that part, with a note.
      expect(r3.code).toBe(0);
      const rep = JSON.parse(fs.readFileSync(json3, "utf8"));
      expect(rep.partial).toBe(true);
      expect(rep.notes.join("\n")).toMatch(/c\.lhdb-wal file is missing/);
    }
  });
});

describe("leakhound report on files that are not captures", () => {
  it("an empty file: exit 4, and says it is empty", async () => {
    const f = path.join(tempDir(), "empty.lhdb");
    fs.writeFileSync(f, "");
    const r = await runCli(["report", f]);
    expect(r.code).toBe(4);
    expectOneLine(r.stderr, /is an empty file, not a leakhound capture/);
  });

  it("a sound capture: report leaves its directory exactly as it was", async () => {
    const run = await runLeakhound(["python3", "leak_registry.py"], ["--quiet"], { env: { LEAK_SECONDS: "2" } });
    expect(run.code).toBe(0);
    const dir = tempDir();
    const capture = path.join(dir, "c.lhdb");
    fs.copyFileSync(path.join(run.dir, "capture.lhdb"), capture);
    const before = listing(dir);
    const r = await runCli(["report", capture, "--quiet"]);
    expect(r.code).toBe(0);
    expect(listing(dir)).toEqual(before);
  });
});
