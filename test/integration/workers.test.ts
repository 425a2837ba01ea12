// Worker and child processes, merged: pool workers (fork and spawn), a prefork
// server of our own whose workers are SIGTERMed by their parent, and real
// gunicorn workers serving a Flask app under load. Workers that leak at the same
// site are one leak ("3 of 3 workers of pid P leak here"), each explained (live
// when it never exits normally), and the parent that only drains their results
// does not leak.
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { PROGRAMS, runLeakhound } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { reportErrors } from "../helpers/schema.js";

const PYTHONS = findPythons();

function expectWorkersLeak(report: any, file: string, line: number, workers: number, path: RegExp): any {
  expect(reportErrors(report)).toBeNull();
  const leak = report.leaks[0];
  expect(leak.site && `${leak.site.file.split("/").pop()}:${leak.site.line}`).toBe(`${file}:${line}`);
  // On failure, say what the leaks were (which processes, sites and stacks), to tell a missed worker from a split one.
  const seen = report.leaks.slice(0, 8).map((l: any) => `pid ${l.pid} ${l.kind} ${l.site?.line} +${l.growthBytes} B group ${JSON.stringify(l.group)} stack ${l.stack.map((f: any) => `${f.function}:${f.line}`).join("<")}`);
  const verdicts = report.processes.map((p: any) => `pid ${p.pid} ${p.verdict} ${p.samples ?? ""}`);
  expect(leak.group, [...seen, ...verdicts].join("\n")).toEqual({ leaking: workers, of: workers, label: `workers of pid ${report.target.pid}` });
  expect(leak.processes).toHaveLength(workers);
  expect(new Set(leak.processes.map((p: any) => p.pid)).size).toBe(workers);
  for (const p of leak.processes) {
    expect(p.pid).not.toBe(report.target.pid);
    expect(p.retainer).toMatch(path);
  }
  expect(leak.retainers[0].text).toMatch(path);
  expect(leak.evidence).toMatch(new RegExp(`^${workers} of ${workers} workers of pid \\d+ leak here, \\+[\\d.]+ [KM]iB/s each; `));
  // The parent only drains its workers' results: it does not leak.
  const parent = report.processes.find((p: any) => p.pid === report.target.pid);
  expect(parent.verdict).not.toBe("leak");
  expect(report.leaks.every((l: any) => l.pid !== report.target.pid)).toBe(true);
  return leak;
}

describe.concurrent("multiprocessing pool workers, terminated by the pool", () => {
  for (const py of PYTHONS) {
    it(`Python ${py.version}, fork: one leak for all workers, each explained while it ran`, async () => {
      const r = await runLeakhound([py.path, "pool_workers.py", "fork"], ["--quiet"], { env: { WORKERS: "3", RUN_SECONDS: "9" } });
      expect(r.code, r.stderr).toBe(0);
      const leak = expectWorkersLeak(r.report, "pool_workers.py", 14, 3, /^module __main__ → _RESULTS \(dict, [\d,–]+ items\) → \[\*\] \(tuple, 2 items\)/);
      expect(leak.explainedAt.reason).toBe("live");
    }, 120_000);
  }

  it("spawn: the same, and the spawn helper (resource tracker) is not a worker", async () => {
    const r = await runLeakhound(["python3", "pool_workers.py", "spawn"], ["--quiet"], { env: { WORKERS: "3", RUN_SECONDS: "9" } });
    expect(r.code, r.stderr).toBe(0);
    expectWorkersLeak(r.report, "pool_workers.py", 14, 3, /^module (__main__|__mp_main__) → _RESULTS \(dict, [\d,–]+ items\)/);
  }, 120_000);
});

describe("prefork workers SIGTERMed by their parent", () => {
  it("are merged and explained before they were terminated", async () => {
    const r = await runLeakhound(["python3", "prefork_server.py"], ["--quiet"], { env: { WORKERS: "3", RUN_SECONDS: "9" } });
    expect(r.code, r.stderr).toBe(0);
    const leak = expectWorkersLeak(r.report, "prefork_server.py", 13, 3, /^module __main__ → _HANDLED \(list, [\d,–]+ items\) → \[\*\] \(dict, 2 items\)/);
    expect(leak.explainedAt.reason).toBe("live");
    expect(leak.explainedAt.text).toMatch(/while it ran, [\d.]+ s before the process ended$/);
  }, 120_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

describe("gunicorn serving a Flask app under load", () => {
  it("its workers' leak at the view's line is one leak, kept alive by the app module's list", async () => {
    const port = await freePort();
    // A client over 127.0.0.1 for most of the run.
    const client = spawn("python3", ["-c", CLIENT, String(port), "15"], { stdio: ["ignore", "pipe", "inherit"] });
    let served = "";
    client.stdout.on("data", (d) => (served += d));
    const clientDone = new Promise((resolve) => client.on("close", resolve));
    const r = await runLeakhound(["gunicorn", "-w", "3", "-b", `127.0.0.1:${port}`, "app:app"], ["--quiet", "--duration", "13"], {
      cwd: path.join(PROGRAMS, "gunicorn_app"),
    });
    await clientDone;
    expect(Number(served.trim())).toBeGreaterThan(500);
    expect(r.report.target.stoppedBy).toBe("leakhound");
    expectWorkersLeak(r.report, "app.py", 11, 3, /^module app → _REQUEST_LOG \(list, [\d,–]+ items\) → \[\*\] \(dict, 3 items\)/);
  }, 120_000);
});

const CLIENT = `
import sys, time, urllib.request
port, end, n = int(sys.argv[1]), time.monotonic() + float(sys.argv[2]), 0
while time.monotonic() < end:
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/item/%d" % (port, n), timeout=2).read()
        n += 1
    except Exception:
        time.sleep(0.1)
print(n)
`;
