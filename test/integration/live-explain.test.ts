// Live explanations: the host asks a running process why its leaks stay alive,
// so the answer survives a process that never exits normally (SIGKILL, a service
// stopped by --duration that shuts down hard), with when it was taken.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli, runLeakhound } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { protocolErrors, reportErrors } from "../helpers/schema.js";

const PYTHONS = findPythons();

function leakAt(report: any, line: string): any {
  const leak = report.leaks.find((l: any) => l.site && path.basename(l.site.file) === line.split(":")[0] && l.site.line === Number(line.split(":")[1]));
  expect(leak, `no leak at ${line}: ${JSON.stringify(report.leaks.map((l: any) => l.site))}`).toBeDefined();
  return leak;
}

describe.concurrent("a process killed after a live explanation", () => {
  for (const py of PYTHONS) {
    it(`Python ${py.version}: the path to the module dict, taken while it ran, said how long before the kill`, async () => {
      const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-proto-")), "protocol.ndjson");
      const r = await runLeakhound([py.path, "leak_then_killed.py"], ["--quiet"], {
        env: { KILL_AFTER: "9", LEAKHOUND_PROTOCOL_LOG: log },
      });
      expect(r.report, r.stderr).not.toBeNull();
      expect(r.report.target.signal).toBe("SIGKILL");
      expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
      const leak = leakAt(r.report, "leak_then_killed.py:17");
      expect(leak.retainers[0].text).toMatch(/^module __main__ → _RECORDS \(dict, [\d,–]+ items\) → \[\*\] \(Record\)/);
      expect(leak.explainedAt.reason).toBe("live");
      expect(leak.explainedAt.text).toMatch(/^explained at 00:0\d while it ran, [\d.]+ s before the process was killed$/);
      expect(leak.explainedAt.beforeEndSec).toBeGreaterThan(0);
      // Objects made while the walk ran are not mistaken for ones nothing refers to.
      for (const rt of leak.retainers) expect(rt.text).not.toMatch(/no Python object refers to/);
      // Every message the agent sent, live answers included, is in the protocol.
      const lines = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const answers = lines.filter((m) => m.type === "retainers");
      expect(answers.length).toBeGreaterThan(0);
      expect(answers.every((m) => m.live === true && typeof m.requestId === "number" && typeof m.t === "number")).toBe(true);
      for (const m of lines) expect(protocolErrors(m)).toBeNull();

      // The saved capture tells the same, re-read.
      const again = path.join(r.dir, "again.json");
      await runCli(["report", "--quiet", path.join(r.dir, "capture.lhdb"), "--json", again]);
      const re = JSON.parse(fs.readFileSync(again, "utf8"));
      expect(leakAt(re, "leak_then_killed.py:17").explainedAt).toEqual(leak.explainedAt);
    }, 90_000);
  }
});

describe.concurrent("a live search leaves no reference cycle behind", () => {
  // What the agent held is freed by reference counting as it lets go, never by the collector:
  // cyclic garbage would take the program's objects with it, clear them in an order some types do
  // not survive (a BytesIO's buffer view on 3.12.0-3.12.1 crashed pool workers) and run their
  // finalizers on the agent's thread.
  for (const py of PYTHONS) {
    it(`Python ${py.version}: the collector finds nothing of the agent's after the searches`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-gc-"));
      const out = path.join(dir, "garbage.json");
      const log = path.join(dir, "protocol.ndjson");
      const r = await runLeakhound([py.path, "no_cycles_left.py"], ["--quiet"], {
        env: { GARBAGE_OUT: out, RUN_SECONDS: "8", LEAKHOUND_PROTOCOL_LOG: log },
      });
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      leakAt(r.report, "no_cycles_left.py:30");
      // The agent answered at least one live search while the program worked...
      const messages = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(messages.filter((m) => m.type === "retainers" && m.live === true).length).toBeGreaterThan(0);
      // ... and the collector found nothing new at the program's end.
      expect(JSON.parse(fs.readFileSync(out, "utf8"))).toEqual({});
    }, 120_000);
  }
});

describe("a service stopped by --duration that handles SIGINT itself", () => {
  it("is explained right before leakhound stops it", async () => {
    const r = await runLeakhound(["python3", "service_sigint_exit.py"], ["--duration", "6"]);
    expect(r.report.target.stoppedBy).toBe("leakhound");
    const leak = leakAt(r.report, "service_sigint_exit.py:20");
    expect(leak.retainers[0].text).toMatch(/^module __main__ → _SESSIONS \(list, [\d,–]+ items\) → \[\*\] \(dict, 2 items\)/);
    expect(leak.explainedAt.reason).toBe("before-stop");
    expect(leak.explainedAt.text).toMatch(/^explained at 00:0\d right before leakhound stopped it, (moments|[\d.]+ m?s) before the process ended$/);
    expect(r.stderr).toMatch(/why it stays alive: \(explained at 00:0\d right before leakhound stopped it/);
  }, 60_000);

  it("--no-live-explain: no search while it runs, so nothing explains it", async () => {
    const r = await runLeakhound(["python3", "service_sigint_exit.py"], ["--quiet", "--duration", "5", "--no-live-explain"]);
    const leak = leakAt(r.report, "service_sigint_exit.py:20");
    expect(leak.retainers).toEqual([]);
    expect(leak.explainedAt).toBeUndefined();
    expect(leak.retainerNote).toMatch(/not searched/);
  }, 60_000);
});

describe("leakhound explain PID, from another terminal", () => {
  it("asks the run that watches PID for a search now, prints why, and the run's final report keeps that answer", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-explain-"));
    const json = path.join(dir, "run.json");
    const pidFile = path.join(dir, "target.pid");
    // The target writes its pid; the run explains nothing by itself (--no-live-explain).
    const script = path.join(dir, "svc.py");
    fs.writeFileSync(
      script,
      fs.readFileSync(path.join(__dirname, "../fixtures/programs/service_sigint_exit.py"), "utf8").replace(
        "signal.signal(signal.SIGINT, on_interrupt)",
        `signal.signal(signal.SIGINT, on_interrupt)\nopen(${JSON.stringify(pidFile)}, "w").write(str(os.getpid()))`,
      ),
    );
    const run = runCli(["run", "--quiet", "--no-live-explain", "--duration", "12", "--json", json, "--", "python3", script]);
    for (let i = 0; i < 100 && !fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    await new Promise((r) => setTimeout(r, 7000));
    const asked = path.join(dir, "explain.json");
    const ex = await runCli(["explain", String(pid), "--json", asked]);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toMatch(/why it stays alive: \(explained at 00:0\d on request, while it ran/);
    expect(ex.stdout).toMatch(/module __main__ → _SESSIONS \(list, [\d,–]+ items\)/);
    const now = JSON.parse(fs.readFileSync(asked, "utf8"));
    expect(reportErrors(now)).toBeNull();
    expect(now.processes.map((p: any) => p.pid)).toEqual([pid]);
    expect(now.leaks[0].explainedAt.reason).toBe("request");

    const done = await run;
    expect(done.code, done.stderr).toBe(0);
    const final = JSON.parse(fs.readFileSync(json, "utf8"));
    const leak = leakAt(final, "svc.py:21");
    expect(leak.explainedAt.reason).toBe("request");
    expect(leak.retainers[0].text).toMatch(/_SESSIONS/);
    // The run is gone: nothing names the pid any more.
    const after = await runCli(["explain", String(process.pid)]);
    expect(after.code).toBe(126);
    expect(after.stderr).toMatch(new RegExp(`^leakhound: process ${process.pid} is not running under leakhound`));
  }, 60_000);

  it("refuses what it cannot do, in one line with its code", async () => {
    const bad = await runCli(["explain", "abc"]);
    expect([bad.code, bad.stderr]).toEqual([2, "leakhound: not a process id: abc\n"]);
    const gone = await runCli(["explain", "4194304"]);
    expect([gone.code, gone.stderr]).toEqual([127, "leakhound: no such process: 4194304\n"]);
  });
});
