// Bad input gets one clear line and a documented exit code, never a stack trace.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import Database from "better-sqlite3";
import { PROGRAMS, runCli, runLeakhound, tempDir } from "../helpers/cli.js";
import { reportErrors } from "../helpers/schema.js";

function pyenvPython(prefix: string): string | null {
  let root = process.env.PYENV_ROOT ?? "";
  if (!root) {
    try {
      root = execFileSync("pyenv", ["root"], { encoding: "utf8" }).trim();
    } catch {
      root = path.join(process.env.HOME ?? "/root", ".pyenv");
    }
  }
  const versions = path.join(root, "versions");
  if (!fs.existsSync(versions)) return null;
  const v = fs.readdirSync(versions).find((d) => d.startsWith(prefix));
  if (!v) return null;
  const exe = ["python3", "python"].map((n) => path.join(versions, v, "bin", n)).find((p) => fs.existsSync(p));
  return exe ?? null;
}

function expectOneLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split("\n").filter((l) => l.startsWith("leakhound:"));
  expect(lines.some((l) => pattern.test(l))).toBe(true);
  expect(stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no JS stack trace
}

/** Exactly one line on stderr, a `leakhound:` line pointing to the help; no usage dump. */
function expectOnlyLine(stderr: string, pattern: RegExp, help = "leakhound run --help") {
  expect(stderr.split("\n").filter(Boolean)).toEqual([expect.stringMatching(/^leakhound: /)]);
  expect(stderr).toMatch(pattern);
  expect(stderr).toContain(`(see '${help}')`);
  expect(stderr).not.toMatch(/^error:|Usage:/m);
}

/** A fresh TMPDIR for leakhound, so what it leaves behind there can be seen. */
function privateTmp(): { env: Record<string, string>; dir: string } {
  const dir = tempDir("lh-tmpdir-");
  return { dir, env: { TMPDIR: dir } };
}

describe("bad options: one line, exit 2, nothing started", () => {
  it("no command", async () => {
    const r = await runCli(["run"]);
    expect(r.code).toBe(2);
    expectOnlyLine(r.stderr, /no command to run/);
  });

  it("an unknown option", async () => {
    const r = await runCli(["run", "--bogus", "--", "python3", "-c", "print('ran')"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expectOnlyLine(r.stderr, /unknown option '--bogus'/);
  });

  it("a bad number", async () => {
    const r = await runCli(["run", "--duration", "abc", "--", "python3", "-c", "print('ran')"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expectOnlyLine(r.stderr, /--duration.*'abc' is invalid/);
  });

  it("report without a capture, and an unknown command", async () => {
    const r = await runCli(["report"]);
    expect(r.code).toBe(2);
    expectOnlyLine(r.stderr, /missing required argument 'capture'/, "leakhound report --help");
    const u = await runCli(["frobnicate"]);
    expect(u.code).toBe(2);
    expectOnlyLine(u.stderr, /unknown command 'frobnicate'/, "leakhound --help");
  });

  it("--out in a missing folder: exit 2 before the target starts, no temp folder left", async () => {
    const tmp = privateTmp();
    const marker = path.join(tmp.dir, "..", `${path.basename(tmp.dir)}-ran`);
    const r = await runCli(["run", "--out", "/nonexistent-dir/c.lhdb", "--", "python3", "-c", `open(${JSON.stringify(marker)}, 'w')`], { env: tmp.env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^leakhound: cannot write --out \/nonexistent-dir\/c\.lhdb: folder \/nonexistent-dir does not exist$/)]);
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.readdirSync(tmp.dir)).toEqual([]);
  });

  it("--json or --html that is a folder, or in a missing folder: exit 2 before the target starts", async () => {
    const dir = tempDir();
    const marker = path.join(dir, "ran");
    const cmd = ["--", "python3", "-c", `open(${JSON.stringify(marker)}, 'w')`];
    const a = await runCli(["run", "--json", dir, ...cmd]);
    expect(a.code).toBe(2);
    expectOneLine(a.stderr, /cannot write --json .*: it is a directory/);
    const b = await runCli(["run", "--html", path.join(dir, "no", "r.html"), ...cmd]);
    expect(b.code).toBe(2);
    expectOneLine(b.stderr, /cannot write --html .*: folder .* does not exist/);
    const c = await runCli(["report", "--json", path.join(dir, "no", "r.json"), "/nonexistent/capture.lhdb"]);
    expect(c.code).toBe(2);
    expectOneLine(c.stderr, /cannot write --json/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("a report that cannot be written at the end: one line, and the target's exit code is kept", async () => {
    // The target removes the folder its JSON report was to go in, then exits 7.
    const dir = tempDir();
    const sub = path.join(dir, "reports");
    fs.mkdirSync(sub);
    const r = await runCli([
      "run", "--quiet", "--out", path.join(dir, "c.lhdb"), "--json", path.join(sub, "r.json"), "--",
      "python3", "-c", `import shutil, sys; shutil.rmtree(${JSON.stringify(sub)}); sys.exit(7)`,
    ]);
    expect(r.code).toBe(7);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^leakhound: cannot write the JSON report to .*r\.json: /)]);
  });

  it("a command that fails to start leaves nothing in the temp folder", async () => {
    const tmp = privateTmp();
    const dir = tempDir();
    const script = path.join(dir, "not-executable.py");
    fs.writeFileSync(script, "print('never')\n", { mode: 0o644 });
    const r = await runCli(["run", "--", script], { env: tmp.env });
    expect(r.code).toBe(126);
    expectOneLine(r.stderr, /permission denied/);
    expect(fs.readdirSync(tmp.dir)).toEqual([]); // neither the socket folder nor an empty capture
  });
});

describe("bad input", () => {
  it("no command: usage error, exit 2", async () => {
    const r = await runCli(["run"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required argument|no command/i);
  });

  it("unknown collector: exit 2", async () => {
    const r = await runCli(["run", "--collector", "magic", "--", "python3", "-c", "pass"]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /--collector .*'magic' is invalid\. Allowed choices are auto, sampling, tracemalloc/);
  });

  it("a command that does not exist: exit 127", async () => {
    const r = await runCli(["run", "--", "no-such-command-xyz"]);
    expect(r.code).toBe(127);
    expectOneLine(r.stderr, /command not found: no-such-command-xyz/);
  });

  it("a missing script: exit 127", async () => {
    const r = await runCli(["run", "--", "python3", "does_not_exist.py"]);
    expect(r.code).toBe(127);
    expectOneLine(r.stderr, /script not found: does_not_exist.py/);
  });

  it("a command that is not Python: its output passes, then exit 126", async () => {
    const r = await runLeakhound(["echo", "hello from echo"], ["--quiet"]);
    expect(r.stdout).toBe("hello from echo\n");
    expect(r.code).toBe(126);
    expectOneLine(r.stderr, /does not look like Python/);
    expect(r.report.verdict).toBe("inconclusive");
    expect(r.report.partial).toBe(true);
  });

  it("python -I cannot be injected: exit 126 with the reason", async () => {
    const r = await runLeakhound(["python3", "-I", "-c", "print('isolated')"], ["--quiet"]);
    expect(r.stdout).toBe("isolated\n");
    expect(r.code).toBe(126);
    expectOneLine(r.stderr, /-I \(isolated mode\)/);
  });

  for (const old of ["3.7", "3.6", "2.7"]) {
    const exe = pyenvPython(old);
    it.skipIf(!exe)(`Python ${old} is too old: exit 126 naming the version`, async () => {
      const r = await runLeakhound([exe!, "-c", "print('old')"], ["--quiet"]);
      expect(r.stdout).toBe("old\n");
      expect(r.code).toBe(126);
      expectOneLine(r.stderr, new RegExp(`Python ${old.replace(".", "\\.")}`));
    });
  }

  it("a target that crashes: its exit code, and a report of what was captured", async () => {
    const r = await runLeakhound(["python3", "crash.py"], ["--quiet"], { env: { LEAK_SECONDS: "5" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/RuntimeError: boom/);
    expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
    expect(r.report.target.exitCode).toBe(1);
    expect(r.report.verdict).toBe("leak");
  });

  it("a target that crashes at once: its exit code, and a verdict that says it failed too soon (not to run it longer)", async () => {
    const r = await runLeakhound(["python3", "crash.py"], ["--quiet"], { env: { LEAK_SECONDS: "0.2" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/RuntimeError: boom/);
    expect(reportErrors(r.report)).toBeNull();
    expect(r.report.verdict).toBe("inconclusive");
    expect(r.report.reason).toMatch(/^the target exited with status 1 after [\d.]+ m?s, before growth could be judged/);
  });

  it("a target killed by a signal: 128+N, and a partial report", async () => {
    const r = await runLeakhound(["python3", "killed.py"], ["--quiet"], { env: { LEAK_SECONDS: "5" } });
    expect(r.code).toBe(137);
    expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
    expect(r.report.target.signal).toBe("SIGKILL");
    expect(r.report.partial).toBe(true);
    expect(r.report.leaks.length).toBeGreaterThan(0);
  });
});

describe("leakhound report on bad captures", () => {
  it("a missing file: exit 4", async () => {
    const r = await runCli(["report", "/nonexistent/capture.lhdb"]);
    expect(r.code).toBe(4);
    expectOneLine(r.stderr, /no such file/);
  });

  it("a file that is not a database: exit 4", async () => {
    const f = path.join(tempDir(), "junk.lhdb");
    fs.writeFileSync(f, "this is not sqlite at all\n".repeat(100));
    const r = await runCli(["report", f]);
    expect(r.code).toBe(4);
    expectOneLine(r.stderr, /not a leakhound capture/);
  });

  it("a SQLite database of something else: exit 4", async () => {
    const f = path.join(tempDir(), "other.db");
    const db = new Database(f);
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    db.close();
    const r = await runCli(["report", f]);
    expect(r.code).toBe(4);
    expectOneLine(r.stderr, /not a leakhound capture/);
  });

  it("a truncated capture: exit 4 or a partial report, never a stack trace", async () => {
    const run = await runLeakhound(["python3", "leak_registry.py"], ["--quiet"], { env: { LEAK_SECONDS: "3" } });
    const capture = path.join(run.dir, "capture.lhdb");
    const size = fs.statSync(capture).size;
    for (const keep of [0.2, 0.5, 0.9]) {
      const cut = path.join(run.dir, `cut-${keep}.lhdb`);
      fs.writeFileSync(cut, fs.readFileSync(capture).subarray(0, Math.floor(size * keep)));
      const json = path.join(run.dir, `cut-${keep}.json`);
      const r = await runCli(["report", cut, "--json", json]);
      expect([0, 4]).toContain(r.code);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
      if (r.code === 4) expectOneLine(r.stderr, /damaged|not a leakhound capture|cannot read/);
      else expect(JSON.parse(fs.readFileSync(json, "utf8")).partial).toBe(true);
    }
  });

  it("a directory: exit 4", async () => {
    const r = await runCli(["report", PROGRAMS]);
    expect(r.code).toBe(4);
  });
});
