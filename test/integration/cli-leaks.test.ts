// The whole path on real programs of our own (not the corpus): verdict, site,
// stack and why it stays alive, plus the JSON contract and `leakhound report`.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { namesLine, runCli, runLeakhound } from "../helpers/cli.js";
import { protocolErrors, reportErrors } from "../helpers/schema.js";

const SECONDS = { LEAK_SECONDS: "6" };

describe("finds leaks in real programs", () => {
  it("an instance attribute list behind a module global", async () => {
    const r = await runLeakhound(["python3", "leak_registry.py"], ["--quiet"], { env: SECONDS });
    expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
    expect(r.report.verdict).toBe("leak");
    const top = r.report.leaks[0];
    expect(top.kind).toBe("python");
    expect(namesLine(top, "leak_registry.py", [18, 19])).toBe(true);
    expect(top.site.function).toBe("parse");
    expect(path.isAbsolute(top.site.file)).toBe(true);
    const text = top.retainers.map((x: any) => x.text).join("\n");
    expect(text).toContain("REGISTRY");
    expect(text).toContain("documents");
    expect(top.evidence).toMatch(/grew/);
  });

  it("unreachable cycles while gc is disabled", async () => {
    const r = await runLeakhound(["python3", "leak_gc_disabled.py"], ["--quiet"], { env: SECONDS });
    expect(r.report.verdict).toBe("leak");
    const top = r.report.leaks[0];
    expect(namesLine(top, "leak_gc_disabled.py", [10, 11, 12, 16])).toBe(true);
    expect(top.unreachable).toBe(true);
    expect(top.retainerNote).toMatch(/gc is disabled/);
  });

  // A 2.6 s run: on a loaded machine the program can stall for whole sample intervals.
  it("a batch program shorter than 3 s that grew steadily by hundreds of MiB is judged, not 'run longer'", { retry: 2 }, async () => {
    const r = await runLeakhound(["python3", "short_batch.py"], ["--quiet"], { env: { LEAK_SECONDS: "2.6" } });
    expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
    expect(r.report.durationSec ?? r.report.processes[0].durationSec).toBeLessThan(3.5);
    expect(r.report.verdict, r.report.reason).toBe("leak");
    expect(namesLine(r.report.leaks[0], "short_batch.py", [10])).toBe(true);
    expect(r.report.leaks[0].retainers.map((x: any) => x.text).join("\n")).toMatch(/Document\.word_count/);
  });

  it("native growth through ctypes is reported as native", async () => {
    const r = await runLeakhound(["python3", "leak_native.py"], ["--quiet"], { env: SECONDS });
    expect(r.report.verdict).toBe("leak");
    const native = r.report.leaks.find((l: any) => l.kind === "native");
    expect(native).toBeTruthy();
    expect(r.report.leaks[0].kind).toBe("native");
    // ctypes.CDLL("libc.so.6").malloc is looked up with dlsym in libc's own handle: the shim
    // interposes dlsym, so the blocks are sampled at the ctypes call, not guessed from what ran.
    expect(native.site).toMatchObject({ line: 14, function: "render_thumbnail" });
    expect(native.evidence).toMatch(/^native allocations grew/);
  });

  it("native growth no sampled allocation accounts for (a raw mmap system call) names no line, only what ran while it grew", async () => {
    const r = await runLeakhound(["python3", "leak_native_unsampled.py"], ["--quiet"], { env: SECONDS });
    expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
    expect(r.report.verdict).toBe("leak");
    const native = r.report.leaks.find((l: any) => l.kind === "native");
    expect(native).toBeTruthy();
    // The loop's time.sleep (line 28) runs most while memory grows: never the place.
    expect(native.site).toBeNull();
    expect(native.stack).toEqual([]);
    expect(namesLine(native, "leak_native_unsampled.py", [17, 18, 28])).toBe(false);
    expect(native.evidence).toMatch(/no allocation was sampled for it, so no line is named/);
    expect(native.evidence).toMatch(/only weak evidence of where: .* was running in \d+% of \d+ stack samples while RSS rose/);
    const u = native.unattributed;
    expect(u.why).toMatch(/the malloc shim sampled no C allocation/);
    expect(u.evidence).toBe("weak");
    expect(u.toSec).toBeGreaterThan(u.fromSec);
    expect(u.bytesPerSec).toBeGreaterThan(5e6);
    expect(u.candidates.map((c: any) => c.site.line)).toContain(28);
    for (const c of u.candidates) expect(c.share).toBeLessThanOrEqual(1);
  });

  it("a leak that is small beside heavy allocation churn", async () => {
    // Each request allocates ~100 KB of scratch and keeps ~2 KB: the leak is a few percent
    // of what is allocated, and the heap total is noisy.
    for (const collector of ["auto", "tracemalloc"]) {
      const r = await runLeakhound(["python3", "slow_leak_churn.py"], ["--quiet", "--collector", collector], { env: SECONDS });
      expect(r.report.verdict).toBe("leak");
      expect(namesLine(r.report.leaks[0], "slow_leak_churn.py", [10])).toBe(true);
      expect(JSON.stringify(r.report.leaks[0].retainers)).toContain("AUDIT");
    }
  });

  it("a leak in a child process started with multiprocessing", async () => {
    const r = await runLeakhound(["python3", "leak_child.py"], ["--quiet"], { env: SECONDS });
    expect(r.report.verdict).toBe("leak");
    const leak = r.report.leaks.find((l: any) => namesLine(l, "leak_child.py", [13]));
    expect(leak).toBeTruthy();
    expect(leak.pid).not.toBe(r.report.target.pid);
    expect(JSON.stringify(leak.retainers)).toContain("CACHE");
  });

  for (const control of ["ok_deque.py", "ok_burst.py"]) {
    it(`no leak: ${control}`, async () => {
      const r = await runLeakhound(["python3", control], ["--quiet"], { env: SECONDS });
      expect(r.report.verdict).toBe("no-leak");
      expect(r.report.leaks).toEqual([]);
    });
  }

  it("never calls the program's own dunders, properties or metaclass hooks", async () => {
    const trip = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-trip-")), "tripwire");
    const r = await runLeakhound(["python3", "tripwire.py"], ["--quiet"], { env: { ...SECONDS, LEAK_TRIPWIRE: trip } });
    expect(fs.existsSync(trip) ? fs.readFileSync(trip, "utf8") : "").toBe("");
    expect(r.report.verdict).toBe("leak");
    expect(JSON.stringify(r.report.leaks[0].retainers)).toMatch(/KEEP|BY_KEY/);
  });

  it("every agent message follows the protocol schema, and report re-reads the capture", async () => {
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-proto-")), "protocol.ndjson");
    const r = await runLeakhound(["python3", "leak_registry.py"], ["--quiet"], { env: { LEAK_SECONDS: "5", LEAKHOUND_PROTOCOL_LOG: log } });
    const lines = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0].type).toBe("hello");
    expect(lines.some((l) => l.type === "sample")).toBe(true);
    expect(lines.some((l) => l.type === "retainers")).toBe(true);
    for (const l of lines) expect(protocolErrors(l), JSON.stringify(l).slice(0, 200)).toBeNull();

    const again = path.join(r.dir, "again.json");
    const rep = await runCli(["report", path.join(r.dir, "capture.lhdb"), "--json", again]);
    expect(rep.code).toBe(0);
    expect(rep.stdout).toMatch(/LEAK/);
    const second = JSON.parse(fs.readFileSync(again, "utf8"));
    expect(reportErrors(second)).toBeNull();
    expect(second.verdict).toBe(r.report.verdict);
    expect(second.leaks[0].site).toEqual(r.report.leaks[0].site);
    expect(second.leaks[0].retainers).toEqual(r.report.leaks[0].retainers);
  });
});
