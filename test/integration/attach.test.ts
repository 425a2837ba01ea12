// `leakhound attach PID`: a service started without leakhound is attached to, its
// leak found with its retainer path, and detached from: the service runs on with
// its output and exit code unchanged, no agent thread left, and can be attached to
// again. Refusals each give one line and a documented exit code.
import { describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROGRAMS, ROOT, runCli, tempDir } from "../helpers/cli.js";
import { findAllPythons, findPythons } from "../helpers/pythons.js";
import { protocolErrors, reportErrors } from "../helpers/schema.js";

const PYTHONS = findPythons();
const TARGET = path.join(PROGRAMS, "attach_target.py");
const EXPECTED_OUTPUT = "service started\nservice stopped after some documents\n";
const IS_ROOT = process.getuid?.() === 0;
/**
 * The tests that run a process (or leakhound) as user `nobody` need this checkout readable
 * by `nobody`: a clone inside a private (0700) folder, as a CI job may make, is not.
 */
const NOBODY_CAN_READ =
  IS_ROOT &&
  ["dist/cli.js", "agent/leakhound_agent/__init__.py", "test/fixtures/programs/attach_target.py"].every(
    (f) => spawnSync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "test", "-r", path.join(ROOT, f)]).status === 0,
  );

/** The environment of a process started without leakhound. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of Object.keys(env)) if (k.startsWith("LEAKHOUND_") || k === "PYTHONPATH") delete env[k];
  return env;
}

interface Target {
  child: ChildProcess;
  pid: number;
  stopFile: string;
  stdout(): string;
  stderr(): string;
  ended: Promise<{ code: number | null; signal: string | null }>;
  /** Asks it to end (the stop file) and resolves with how it ended. */
  stop(): Promise<{ code: number | null; signal: string | null }>;
}

/** `python attach_target.py STOPFILE`, started without leakhound; resolves once it runs. */
async function startTarget(python: string, env: Record<string, string> = {}, program = TARGET): Promise<Target> {
  const dir = tempDir("lh-attach-");
  const stopFile = path.join(dir, "stop");
  const child = spawn(python, [program, stopFile], { cwd: PROGRAMS, env: plainEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const ended = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  for (let i = 0; i < 200 && !out.includes("service started"); i++) await sleep(50);
  expect(out, err).toContain("service started");
  return {
    child,
    pid: child.pid!,
    stopFile,
    stdout: () => out,
    stderr: () => err,
    ended,
    stop: () => {
      fs.writeFileSync(stopFile, "");
      return ended;
    },
  };
}

/** Runs `fn` with a target started without leakhound; the target never outlives the test. */
async function withTarget(python: string, fn: (t: Target) => Promise<void>, env: Record<string, string> = {}, program = TARGET) {
  const t = await startTarget(python, env, program);
  try {
    await fn(t);
  } finally {
    t.child.kill("SIGKILL");
  }
}

/** The target ended as it does without leakhound: the same output, exit code 7. */
async function expectRanAsBefore(t: Target, ended: Promise<{ code: number | null; signal: string | null }>) {
  expect(await ended).toEqual({ code: 7, signal: null });
  expect(t.stdout()).toBe(EXPECTED_OUTPUT);
  expect(t.stderr()).toBe("");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** OS threads of a process (the agent's sampling thread is one while attached). */
function threads(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/task`).length;
}

async function attach(pid: number, extra: string[] = [], env: Record<string, string> = {}) {
  const dir = tempDir();
  const json = path.join(dir, "report.json");
  const res = await runCli(["attach", String(pid), "--json", json, "--out", path.join(dir, "capture.lhdb"), ...extra], { env, cwd: ROOT });
  let report = null;
  try {
    report = JSON.parse(fs.readFileSync(json, "utf8"));
  } catch {
    /* no report */
  }
  return { ...res, report, dir };
}

function leakAt(report: any, file: string, line: number): any {
  const leak = report.leaks.find((l: any) => l.site && path.basename(l.site.file) === file && l.site.line === line);
  expect(leak, `no leak at ${file}:${line}: ${JSON.stringify(report.leaks.map((l: any) => l.site))}`).toBeDefined();
  return leak;
}

describe("leakhound attach, full", () => {
  it("finds the leak and its retainers, detaches leaving the service as it was, and attaches again", async () => {
    await withTarget("python3", async (t) => {
      await sleep(1500);
      const before = threads(t.pid);
      const log = path.join(tempDir("lh-proto-"), "protocol.ndjson");
      const r = await attach(t.pid, ["--duration", "5"], { LEAKHOUND_PROTOCOL_LOG: log });
      expect(r.code, r.stderr).toBe(0);
      expect(r.report, r.stderr).not.toBeNull();
      expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
      expect(r.report.verdict).toBe("leak");
      expect(r.report.partial).toBe(false);
      expect(r.report.target.stoppedBy).toBe("detached");
      expect(r.report.notes[0]).toMatch(
        /^attached to process \d+ after \d+ s; memory allocated before the attach has no site/,
      );
      const leak = leakAt(r.report, "leak_registry.py", 18);
      expect(leak.retainers[0].text).toMatch(/^module leak_registry → REGISTRY \(Registry\) → \.documents \(list, [\d,–]+ items\) → \[\*\] \(dict, 2 items\)/);
      expect(r.stderr).toMatch(/leakhound detached, still running/);

      // The protocol: hello says it was attached, the agent detached like an exit handshake.
      const lines = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      for (const m of lines) expect(protocolErrors(m)).toBeNull();
      const hello = lines.find((m) => m.type === "hello");
      expect(hello.attached.afterSec).toBeGreaterThan(1);
      expect(lines.some((m) => m.type === "exiting" && m.reason === "detach")).toBe(true);

      // Detached: the agent's thread is gone, and the service still runs.
      for (let i = 0; i < 40 && threads(t.pid) !== before; i++) await sleep(50);
      expect(threads(t.pid)).toBe(before);

      // A second attach works the same.
      const again = await attach(t.pid, ["--duration", "3", "--quiet"]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.report.notes[0]).toMatch(/^attached to process \d+ after \d+ s/);
      expect(again.report.processes.length).toBe(1);
      for (let i = 0; i < 40 && threads(t.pid) !== before; i++) await sleep(50);
      expect(threads(t.pid)).toBe(before);

      await expectRanAsBefore(t, t.stop());
    });
  }, 120_000);

  it("a target that exits while attached: a report of what was captured, the exit search kept, its exit code its own", async () => {
    const env = { ATTACH_MAX_SECONDS: "8" };
    await withTarget("python3", async (t) => {
      const r = await attach(t.pid, ["--duration", "60", "--quiet"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.report.notes).toContainEqual(expect.stringMatching(/^process \d+ exited while leakhound was attached; the report covers what was captured until then$/));
      expect(r.report.target.stoppedBy).toBe(null);
      const leak = leakAt(r.report, "leak_registry.py", 18);
      expect(leak.retainers[0].text).toMatch(/^module leak_registry → REGISTRY \(Registry\)/);
      await expectRanAsBefore(t, t.ended);
    }, env);
  }, 120_000);

  it("a target killed while attached: a partial report that keeps what was captured", async () => {
    await withTarget("python3", async (t) => {
        setTimeout(() => t.child.kill("SIGKILL"), 5000);
        const r = await attach(t.pid, ["--duration", "60", "--quiet"]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.report.partial).toBe(true);
        expect(r.report.notes).toContainEqual(expect.stringMatching(/^process \d+ exited while leakhound was attached/));
        expect(r.report.sites.some((s: any) => s.site && path.basename(s.site.file) === "leak_registry.py" && s.site.line === 18)).toBe(true);
        expect(r.report.durationSec).toBeGreaterThan(3);
        expect(await t.ended).toEqual({ code: null, signal: "SIGKILL" });
    });
  }, 60_000);

  it("workers forked while attached are followed and detached too", async () => {
    await withTarget(
      "python3",
      async (t) => {
        const r = await attach(t.pid, ["--duration", "5", "--quiet"]);
        expect(r.code, r.stderr).toBe(0);
        const pids = r.report.processes.map((p: any) => p.pid);
        expect(pids[0]).toBe(t.pid);
        expect(pids.length).toBeGreaterThanOrEqual(2);
        await sleep(4000);
        expect(await t.stop()).toEqual({ code: 5, signal: null });
        expect(t.stdout()).toBe("service started\n" + "worker exited 0\n".repeat(3) + "threads 1\n");
        expect(t.stderr()).toBe("");
      },
      {},
      path.join(PROGRAMS, "attach_forker.py"),
    );
  }, 60_000);

  it("leakhound explain PID reaches an attached process", async () => {
    await withTarget("python3", async (t) => {
      const attached = attach(t.pid, ["--duration", "9", "--quiet"]);
      await sleep(5000);
      const json = path.join(tempDir(), "explain.json");
      const e = await runCli(["explain", String(t.pid), "--quiet", "--json", json], { cwd: ROOT });
      expect(e.code, e.stderr).toBe(0);
      const leak = leakAt(JSON.parse(fs.readFileSync(json, "utf8")), "leak_registry.py", 18);
      expect(leak.retainers[0].text).toMatch(/^module leak_registry → REGISTRY \(Registry\)/);
      expect((await attached).code).toBe(0);
      await expectRanAsBefore(t, t.stop());
    });
  }, 60_000);

  it.runIf(NOBODY_CAN_READ)("as root, another user's process: the agent reaches leakhound's socket", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-nobody-"));
    fs.chmodSync(dir, 0o777);
    const stopFile = path.join(dir, "stop");
    const child = spawn(
      "setpriv",
      ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", TARGET, stopFile],
      { cwd: PROGRAMS, env: plainEnv({ HOME: dir }), stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const ended = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      for (let i = 0; i < 200 && !out.includes("service started"); i++) await sleep(50);
      const r = await attach(child.pid!, ["--duration", "4", "--quiet"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.report.processes[0].pid).toBe(child.pid);
      expect(r.report.processes[0].durationSec).toBeGreaterThan(2);
      fs.writeFileSync(stopFile, "");
      expect(await ended).toBe(7);
      expect(out).toBe(EXPECTED_OUTPUT);
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  it("Ctrl-C (SIGINT to leakhound) ends the watch: report, detach, the target runs on", async () => {
    await withTarget("python3", async (t) => {
        const dir = tempDir();
        const json = path.join(dir, "r.json");
        let leakhound: ChildProcess | null = null;
        const run = runCli(["attach", String(t.pid), "--quiet", "--json", json, "--out", path.join(dir, "c.lhdb")], {
          cwd: ROOT,
          onSpawn: (c) => (leakhound = c),
        });
        for (let i = 0; i < 200 && threads(t.pid) === 1; i++) await sleep(50);
        await sleep(3000);
        leakhound!.kill("SIGINT");
        const r = await run;
        expect(r.code, r.stderr).toBe(0);
        const report = JSON.parse(fs.readFileSync(json, "utf8"));
        expect(report.target.stoppedBy).toBe("detached");
        expect(report.processes[0].pid).toBe(t.pid);
        for (let i = 0; i < 40 && threads(t.pid) !== 1; i++) await sleep(50);
        expect(threads(t.pid)).toBe(1);
        await expectRanAsBefore(t, t.stop());
    });
  }, 60_000);

  it("leakhound killed while attached: the agent turns itself off, the target runs on, and can be attached to again", async () => {
    await withTarget("python3", async (t) => {
      const before = threads(t.pid);
      const dir = tempDir();
      let leakhound: ChildProcess | null = null;
      const run = runCli(["attach", String(t.pid), "--quiet", "--out", path.join(dir, "c.lhdb")], {
        cwd: ROOT,
        onSpawn: (c) => (leakhound = c),
    });
    for (let i = 0; i < 200 && threads(t.pid) === before; i++) await sleep(50);
    expect(threads(t.pid)).toBe(before + 1);
    await sleep(1500);
    leakhound!.kill("SIGKILL");
    await run;
    // The sampling thread notices the host is gone at its next sample.
    for (let i = 0; i < 100 && threads(t.pid) !== before; i++) await sleep(50);
    expect(threads(t.pid)).toBe(before);
    const again = await attach(t.pid, ["--duration", "2", "--quiet"]);
    expect(again.code, again.stderr).toBe(0);
    await expectRanAsBefore(t, t.stop());
    });
  }, 120_000);
});

describe.concurrent("leakhound attach on every CPython 3.8+", () => {
  for (const py of PYTHONS) {
    it(`Python ${py.version}: attaches, sees the leak's site, detaches; the target's output and exit code unchanged`, async () => {
      await withTarget(py.path, async (t) => {
        await sleep(500);
        const r = await attach(t.pid, ["--duration", "4", "--quiet"]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.report.processes[0].python).toBe(py.version);
        expect(r.report.sites.some((s: any) => s.site && path.basename(s.site.file) === "leak_registry.py" && s.site.line === 18)).toBe(true);
        expect(threads(t.pid)).toBe(1);
        await expectRanAsBefore(t, t.stop());
      });
    }, 120_000);
  }
});

/** One `leakhound: …` line and the exit code; no capture left behind. */
function expectRefusal(r: { code: number | null; stderr: string; report: any; dir: string }, code: number, line: RegExp) {
  expect(r.stderr).toMatch(/^leakhound: [^\n]+\n$/);
  expect(r.stderr).toMatch(line);
  expect(r.code).toBe(code);
  expect(r.report).toBeNull();
  expect(fs.existsSync(path.join(r.dir, "capture.lhdb"))).toBe(false);
}

describe("leakhound attach refuses", () => {
  it("no such process (127)", async () => {
    const gone = spawn("true");
    await new Promise((r) => gone.on("close", r));
    expectRefusal(await attach(gone.pid!), 127, /^leakhound: no such process: \d+$/m);
  });

  it("a process that is not Python (126)", async () => {
    const sleeper = spawn("sleep", ["60"]);
    try {
      await sleep(100);
      expectRefusal(await attach(sleeper.pid!), 126, /is not a Python process: \/usr\/bin\/sleep is not a Python interpreter/);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  for (const py of findAllPythons().filter((p) => /^3\.[67]\./.test(p.version))) {
    it(`Python ${py.version}, older than 3.8 (126)`, async () => {
      const old = spawn(py.path, ["-c", "import time; time.sleep(60)"], { env: plainEnv() });
      try {
        await sleep(300);
        const r = await attach(old.pid!);
        expectRefusal(r, 126, new RegExp(`runs Python ${py.version.replace(/\./g, "\\.")}; leakhound attach needs CPython 3\\.8 or newer`));
      } finally {
        old.kill("SIGKILL");
      }
    });
  }

  it.runIf(NOBODY_CAN_READ)("another user's process: ptrace not permitted, with the fix (5)", async () => {
    await withTarget("python3", async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-nobody-"));
      fs.chmodSync(dir, 0o777);
      const res = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(
          "setpriv",
          ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, path.join(ROOT, "dist", "cli.js"), "attach", String(t.pid), "--out", path.join(dir, "c.lhdb")],
          { cwd: dir, env: { ...plainEnv(), HOME: dir } },
        );
        let stderr = "";
        c.stderr!.on("data", (d) => (stderr += d));
        c.on("close", (code) => resolve({ code, stderr }));
    });
    expect(res.stderr).toMatch(/^leakhound: ptrace not permitted: process \d+ \(python3[^)]*\) belongs to another user \(uid 0\); run 'leakhound attach' as that user, or as root \(sudo\)\n$/);
    expect(res.code).toBe(5);
    expect(fs.existsSync(path.join(dir, "c.lhdb"))).toBe(false);
    expect(await t.stop()).toEqual({ code: 7, signal: null });
    });
  }, 60_000);

  it("a process already under leakhound run (5)", async () => {
    const dir = tempDir();
    const stopFile = path.join(dir, "stop");
    const run = runCli(["run", "--quiet", "--out", path.join(dir, "c.lhdb"), "--", "python3", TARGET, stopFile], { cwd: PROGRAMS });
    try {
      let pid = 0;
      for (let i = 0; i < 200 && !pid; i++) {
        await sleep(50);
        pid = findProcess(stopFile);
      }
      expect(pid).toBeGreaterThan(0);
      await sleep(500);
      expectRefusal(await attach(pid), 5, /^leakhound: process \d+ \(python3[^)]*\) is already being watched: it runs under 'leakhound run'$/m);
    } finally {
      fs.writeFileSync(stopFile, "");
      await run;
    }
  }, 60_000);

  it("a process another leakhound attach is watching (5), and one a tracer holds (5)", async () => {
    await withTarget("python3", async (t) => {
      const before = threads(t.pid);
      const first = attach(t.pid, ["--duration", "6", "--quiet"]);
      for (let i = 0; i < 200 && threads(t.pid) === before; i++) await sleep(50);
      const second = await attach(t.pid, ["--quiet"]);
      expectRefusal(second, 5, /^leakhound: process \d+ \(python3[^)]*\) is already being watched: already watched by leakhound/m);
      expect((await first).code).toBe(0);

      const strace = spawn("strace", ["-p", String(t.pid), "-o", "/dev/null"], { stdio: "ignore" });
      try {
        for (let i = 0; i < 100 && !/TracerPid:\s*[1-9]/.test(fs.readFileSync(`/proc/${t.pid}/status`, "utf8")); i++) await sleep(50);
        expectRefusal(await attach(t.pid), 5, /^leakhound: process \d+ \(python3[^)]*\) is already being traced by process \d+ \(strace\)/m);
      } finally {
        strace.kill("SIGINT");
        await new Promise((r) => strace.on("close", r));
      }
      await expectRanAsBefore(t, t.stop());
    });
  }, 90_000);

  it("no gdb (127)", async () => {
    await withTarget("python3", async (t) => {
      const r = await attach(t.pid, ["--collector", "tracemalloc"], { PATH: "/nonexistent" });
      expectRefusal(r, 127, /^leakhound: gdb not found: leakhound attach injects its agent with gdb; install it/m);
      expect(await t.stop()).toEqual({ code: 7, signal: null });
    });
  }, 60_000);
});

/** The python process whose command line names `marker`. */
function findProcess(marker: string): number {
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (cmd.includes(marker) && /python/.test(cmd.split("\0")[0]!)) return Number(name);
    } catch {
      /* gone */
    }
  }
  return 0;
}
