// The Python agent against a fake host, on every CPython 3.8+ on the machine:
// handshake, stack definitions, samples, running stacks, the exit handshake
// and a program that turns tracemalloc off itself.
import { afterEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AGENT_DIR, FakeHost, agentEnv, runPython, writeProgram } from "../helpers/agent-host.js";
import { findPythons } from "../helpers/pythons.js";

const PYTHONS = findPythons();

const LEAK_PY = `import time

LEAK = []


def leak_some():
    LEAK.append(bytearray(20000))  # LEAK-LINE


def busy(until):
    x = 0
    while time.monotonic() < until:
        x += 1
    return x


def main():
    for i in range(40):
        leak_some()
        busy(time.monotonic() + 0.05)
    print("leaked", len(LEAK))


main()
`;

function lineOf(source: string, marker: string): number {
  return source.split("\n").findIndex((l) => l.includes(marker)) + 1;
}

const hosts: FakeHost[] = [];
async function newHost(opts: Parameters<typeof FakeHost.start>[0] = {}): Promise<FakeHost> {
  const host = await FakeHost.start(opts);
  hosts.push(host);
  return host;
}
afterEach(() => {
  while (hosts.length) hosts.pop()!.close();
});

/** The agent dir copied, with retainers (module or package) replaced by `retainers` or removed when null. */
function agentCopy(retainers: string | null): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-agentcopy-"));
  fs.cpSync(AGENT_DIR, dir, { recursive: true, filter: (src) => !src.includes("__pycache__") });
  const file = path.join(dir, "leakhound_agent", "retainers.py");
  fs.rmSync(file, { force: true });
  fs.rmSync(path.join(dir, "leakhound_agent", "retainers"), { recursive: true, force: true });
  if (retainers !== null) fs.writeFileSync(file, retainers);
  return dir;
}

/** A retainers.py stand-in with the documented contract. */
const STUB_RETAINERS = `
def find_retainers(collector, stack_keys, max_objects, timeout_sec):
    results = []
    for key in stack_keys:
        frames = collector.frames_of(key)
        results.append({
            "stackKey": key, "found": 3, "sampled": min(3, max_objects), "unreachable": False,
            "paths": [{"rootKind": "module global", "root": "module __main__", "steps": ["LEAK (list)", frames[0][2]],
                       "objects": 3, "bytes": 60000}],
        })
    return {"results": results, "visited": 42, "elapsedSec": 0.01, "truncated": False}
`;

function leakStackId(conn: any, file: string, line: number): number | undefined {
  for (const [id, frames] of conn.stacks as Map<number, any[]>) {
    if (frames[0]?.file === file && frames[0]?.line === line) return id;
  }
  return undefined;
}

describe.each(PYTHONS)("agent on Python $version", ({ version, path: python }) => {
  it("says hello, defines stacks before use and samples a growing leak with the right frames", async () => {
    const dir = writeProgram({ "leak.py": LEAK_PY });
    const script = path.join(dir, "leak.py");
    const host = await newHost();
    const r = await runPython(python, [script], { cwd: dir, env: agentEnv(host) });
    await host.settle();
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("leaked 40\n");
    expect(r.code).toBe(0);
    expect(host.errors()).toEqual([]);
    expect(host.connections.length).toBe(1);
    const conn = host.connections[0];

    const hello = conn.hello();
    expect(hello).toMatchObject({
      type: "hello",
      v: 1,
      pid: r.pid,
      ppid: process.pid,
      python: version,
      implementation: "cpython",
      cwd: fs.realpathSync(dir),
      collector: { name: "tracemalloc", intervalSec: 0.1, nframes: 16, sampleBytes: 0 },
    });
    expect(hello.argv).toContain(script);
    expect(Math.abs(hello.startedAt - (Date.now() - r.ms))).toBeLessThan(10_000);

    // The leak site: innermost frame first, with the function names.
    const line = lineOf(LEAK_PY, "LEAK-LINE");
    const id = leakStackId(conn, script, line);
    expect(id, `no stack for ${script}:${line}`).toBeDefined();
    const frames = conn.stacks.get(id!)!;
    expect(frames[0]).toEqual({ file: script, line, function: "leak_some" });
    expect(frames[1]).toMatchObject({ file: script, function: "main" });
    expect(frames[2]).toMatchObject({ file: script, function: "<module>" });

    // It grows, and once reported it stays in every later sample.
    const samples = conn.ofType("sample");
    expect(samples.length).toBeGreaterThanOrEqual(2); // a loaded machine paces tracemalloc snapshots (4× their cost of rest)
    const series = samples.map((s: any) => s.sites.find((t: number[]) => t[0] === id));
    const first = series.findIndex((t: any) => t !== undefined);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(series.slice(first).every((t: any) => t !== undefined)).toBe(true);
    const last = series[series.length - 1];
    expect(last[1]).toBeGreaterThanOrEqual(40 * 20000);
    expect(last[2]).toBeGreaterThanOrEqual(40); // memory blocks: object and buffer
    expect(series[first][1]).toBeLessThan(last[1]);
    const final = samples[samples.length - 1];
    expect(final.heap).toBeGreaterThanOrEqual(last[1]);
    expect(final.rss).toBeGreaterThan(final.heap);
    expect(final.gcEnabled).toBe(true);

    // Running stacks: the busy loop is seen, the agent's own thread never.
    const activeIds = new Set(samples.flatMap((s: any) => s.active.map((a: number[]) => a[0])));
    const busy = [...activeIds].filter((i) => conn.stacks.get(i as number)![0]?.function === "busy");
    expect(busy.length).toBeGreaterThan(0);
    expect(conn.stacks.get(busy[0] as number)![0].file).toBe(script);
    for (const frames of conn.stacks.values()) {
      for (const f of frames) expect(f.file.startsWith(AGENT_DIR + path.sep), `agent frame reported: ${f.file}`).toBe(false);
    }

    // Exit handshake with a plain "done".
    expect(conn.ofType("exiting")).toEqual([{ type: "exiting", reason: "atexit" }]);
    expect(conn.ofType("retainers")).toEqual([]);
    expect(conn.closed).toBe(true);
  });

  it("talks over the built extension's socket calls, else over _socket, the same protocol either way", async () => {
    const probe = "import sys, time\nKEEP = [bytearray(3000) for _ in range(200)]\ntime.sleep(0.3)\nprint('_socket' in sys.modules)\n";
    const dir = writeProgram({ "probe.py": probe });
    const emptyCache = fs.mkdtempSync(path.join(os.tmpdir(), "lh-nocache-"));
    for (const [cache, viaSocketModule] of [[undefined, "False"], [emptyCache, "True"]] as const) {
      const host = await newHost();
      const r = await runPython(python, ["probe.py"], { cwd: dir, env: agentEnv(host, { LEAKHOUND_CACHE_DIR: cache }) });
      await host.settle();
      expect(r.stdout).toBe(`${viaSocketModule}\n`);
      expect(r.stderr).toBe("");
      expect(host.errors()).toEqual([]);
      const conn = host.connections[0];
      expect(conn.hello()).toMatchObject({ type: "hello", pid: r.pid });
      expect(conn.ofType("sample").length).toBeGreaterThanOrEqual(2);
      expect(conn.ofType("exiting")).toEqual([{ type: "exiting", reason: "atexit" }]);
      expect(conn.closed).toBe(true);
    }
    fs.rmSync(emptyCache, { recursive: true, force: true });
  });

  it("answers find-retainers at exit, mapping stack keys to ids", async () => {
    const agentDir = agentCopy(STUB_RETAINERS);
    const dir = writeProgram({ "leak.py": LEAK_PY });
    const script = path.join(dir, "leak.py");
    const line = lineOf(LEAK_PY, "LEAK-LINE");
    let asked: number[] = [];
    const host = await newHost({
      onExiting: (conn) => {
        const id = leakStackId(conn, script, line);
        asked = id === undefined ? [] : [id];
        return { type: "find-retainers", stackIds: [...asked, 987654], maxObjects: 2, timeoutSec: 5 };
      },
    });
    const env = { ...agentEnv(host), PYTHONPATH: agentDir };
    const r = await runPython(python, [script], { cwd: dir, env });
    await host.settle();
    fs.rmSync(agentDir, { recursive: true, force: true });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(host.errors()).toEqual([]);
    expect(asked.length).toBe(1);
    const conn = host.connections[0];
    const [retainers] = conn.ofType("retainers");
    expect(retainers).toBeDefined();
    expect(retainers.visited).toBe(42);
    expect(retainers.truncated).toBe(false);
    const mine = retainers.results.find((x: any) => x.stackId === asked[0]);
    expect(mine).toMatchObject({ found: 3, sampled: 2, unreachable: false });
    expect(mine.paths[0].steps).toEqual(["LEAK (list)", "leak_some"]);
    expect(mine).not.toHaveProperty("stackKey");
    const unknown = retainers.results.find((x: any) => x.stackId === 987654);
    expect(unknown).toMatchObject({ found: 0, sampled: 0, paths: [] });
    expect(conn.messages[conn.messages.length - 1].type).toBe("retainers");
  });

  it("without retainers.py it still answers: an error log and empty results", async () => {
    const agentDir = agentCopy(null);
    const dir = writeProgram({ "leak.py": LEAK_PY });
    const script = path.join(dir, "leak.py");
    const host = await newHost({
      onExiting: (conn) => ({
        type: "find-retainers",
        stackIds: [leakStackId(conn, script, lineOf(LEAK_PY, "LEAK-LINE"))!],
        maxObjects: 5,
        timeoutSec: 2,
      }),
    });
    const r = await runPython(python, [script], { cwd: dir, env: { ...agentEnv(host), PYTHONPATH: agentDir } });
    await host.settle();
    fs.rmSync(agentDir, { recursive: true, force: true });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(host.errors()).toEqual([]);
    const conn = host.connections[0];
    const logs = conn.ofType("log").filter((l: any) => l.level === "error");
    expect(logs.length).toBe(1);
    expect(logs[0].message).toMatch(/retainer/);
    expect(conn.ofType("retainers")).toEqual([{ type: "retainers", results: [], visited: 0, elapsedSec: 0, truncated: false, t: expect.any(Number) }]);
  });

  it("waits at most about 2 s for a host that never answers the exit handshake", async () => {
    const dir = writeProgram({ "quick.py": "import sys\nKEEP = [bytearray(1000) for _ in range(100)]\nprint('bye')\nsys.exit(4)\n" });
    let exitingAt = 0;
    const host = await newHost({
      onExiting: () => {
        exitingAt = Date.now();
        return null;
      },
    });
    const r = await runPython(python, ["quick.py"], { cwd: dir, env: agentEnv(host) });
    const waited = Date.now() - exitingAt;
    await host.settle();
    expect(r.stdout).toBe("bye\n");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(4);
    expect(exitingAt).toBeGreaterThan(0);
    expect(waited).toBeGreaterThan(1500);
    expect(waited).toBeLessThan(4000);
    expect(host.errors()).toEqual([]);
  });

  it("falls back to tracemalloc, saying why, when the sampling collector is unknown or missing", async () => {
    const dir = writeProgram({ "tiny.py": "print('ok')\n" });
    for (const collector of ["bogus", "auto"]) {
      const host = await newHost();
      const r = await runPython(python, ["tiny.py"], { cwd: dir, env: agentEnv(host, { LEAKHOUND_COLLECTOR: collector }) });
      await host.settle();
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("ok\n");
      expect(host.errors()).toEqual([]);
      const info = host.connections[0].hello().collector;
      expect(["tracemalloc", "sampling", "sampling-py"]).toContain(info.name);
      if (collector === "bogus") expect(info.note).toMatch(/^unknown collector 'bogus'; /);
      if (info.name === "tracemalloc") expect(info.note).toMatch(/sampling collector/);
    }
  });

  it("uses tracing the program already started (PYTHONTRACEMALLOC) and leaves it on", async () => {
    const dir = writeProgram({
      "pre.py": "import tracemalloc, time\nKEEP = [bytearray(1000) for _ in range(50)]\ntime.sleep(0.3)\nprint(tracemalloc.is_tracing(), tracemalloc.get_traceback_limit())\n",
    });
    const host = await newHost();
    const r = await runPython(python, ["pre.py"], { cwd: dir, env: agentEnv(host, { PYTHONTRACEMALLOC: "3" }) });
    await host.settle();
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("True 3\n");
    expect(host.errors()).toEqual([]);
    const conn = host.connections[0];
    expect(conn.hello().collector).toMatchObject({ name: "tracemalloc", nframes: 3 });
    expect(conn.ofType("log").some((l: any) => /already tracing/.test(l.message))).toBe(true);
    expect(conn.ofType("sample").length).toBeGreaterThan(1);
  });

  it("keeps working when the program stops and restarts tracemalloc itself", async () => {
    const program = `import time, tracemalloc

KEEP = []


def grow(n):
    for i in range(n):
        KEEP.append(bytearray(3000))
        time.sleep(0.005)


grow(30)
print("tracing", tracemalloc.is_tracing())
tracemalloc.stop()
# Stopped for long enough that the agent samples it even when it paces itself on a loaded machine.
stopped_until = time.monotonic() + 1.5
while time.monotonic() < stopped_until:
    grow(10)
print("after stop", tracemalloc.is_tracing())
tracemalloc.start(5)
grow(60)
print("restarted", tracemalloc.is_tracing(), tracemalloc.get_traceback_limit())
print("stats", len(tracemalloc.take_snapshot().statistics("lineno")) > 0)
`;
    const dir = writeProgram({ "stopper.py": program });
    const host = await newHost();
    const r = await runPython(python, ["stopper.py"], { cwd: dir, env: agentEnv(host) });
    await host.settle();
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("tracing True\nafter stop False\nrestarted True 5\nstats True\n");
    expect(r.code).toBe(0);
    expect(host.errors()).toEqual([]);
    const conn = host.connections[0];
    const warnings = conn.ofType("log").filter((l: any) => l.level === "warning");
    expect(warnings.length).toBe(1);
    expect(warnings[0].message).toMatch(/stopped tracemalloc/);
    const samples = conn.ofType("sample");
    const stoppedAt = samples.findIndex((s: any) => s.heap === 0);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(samples[stoppedAt].sites.every((t: number[]) => t[1] === 0)).toBe(true);
    // Reporting resumes once tracing is on again.
    expect(samples.slice(stoppedAt).some((s: any) => s.heap > 0)).toBe(true);
    expect(samples[samples.length - 1].heap).toBeGreaterThan(0);
    expect(conn.ofType("exiting").length).toBe(1);
  });
});

describe("stack tracking rules (agent/leakhound_agent/stacks.py)", () => {
  it("reports the top stacks and those over the share, keeps them, caps and prunes", async () => {
    const program = `import json, sys
from leakhound_agent import stacks
stacks.MAX_SITES = 8
t = stacks.StackTable(lambda k: [("f.py", k, "fn")])
tr = stacks.SiteTracker(t, top=3, share=0.2, cap=5)
out = []
def step(sites, total=0):
    rows, ob, oc = tr.update(sites, total)
    out.append({"rows": sorted(rows), "other": [ob, oc], "defined": [d[0] for d in t.take_pending()]})
step({i: (i * 10, 1) for i in range(1, 11)}, 1000)   # top 3 only: nothing reaches 20% of 1000
step({1: (500, 1), 2: (1, 1)}, 1000)                  # 1 is over the share; 8-10 stay at 0
step({100 + i: (1000 + i, 2) for i in range(4)})       # over the cap of 5: the smallest go
step({200 + i: (5000 + i, 1) for i in range(3)})       # the id table is pruned to what is tracked
print(json.dumps({"steps": out, "ids": len(t._site_ids), "tracked": len(tr.tracked)}))
`;
    const python = PYTHONS[PYTHONS.length - 1].path;
    const r = await runPython(python, ["-c", program], { env: { ...process.env, PYTHONPATH: AGENT_DIR } as any });
    expect(r.stderr).toBe("");
    const { steps, ids, tracked } = JSON.parse(r.stdout);
    expect(steps[0].rows).toEqual([[1, 100, 1], [2, 90, 1], [3, 80, 1]]);
    expect(steps[0].other).toEqual([280, 7]);
    expect(steps[0].defined).toEqual([1, 2, 3]);
    expect(steps[1].rows).toEqual([[1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 500, 1], [5, 1, 1]]);
    expect(steps[1].other).toEqual([0, 0]);
    expect(steps[2].rows.length).toBe(5);
    expect(steps[2].rows.filter((r: number[]) => r[1] > 0).length).toBe(4);
    expect(steps[2].other).toEqual([0, 0]);
    expect(steps[3].rows.length).toBe(5);
    expect(tracked).toBe(5);
    expect(ids).toBeLessThanOrEqual(8);
  });
});

describe("interpreters", () => {
  it("finds at least one supported CPython", () => {
    expect(PYTHONS.length).toBeGreaterThan(0);
    for (const p of PYTHONS) expect(p.version).toMatch(/^3\.\d+\.\d+$/);
  });
});
