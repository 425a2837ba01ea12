// leakhound diff on real captures of one service before and after a fix: the fix moved the
// leaking line, the site is still found by its code; a capture against itself is never "fixed".
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PROGRAMS, runCli, tempDir } from "../helpers/cli.js";
import { diffErrors } from "../helpers/schema.js";

const dir = tempDir("lh-diff-");
const LEAK_CODE = 'body = ("response %d\\n" % n) * 200';

/** Runs one version of the service as `service.py` in a folder of its own (two checkouts of one project). */
async function capture(name: string, program: string, seconds: string): Promise<string> {
  const checkout = path.join(dir, name);
  fs.mkdirSync(checkout);
  fs.copyFileSync(path.join(PROGRAMS, program), path.join(checkout, "service.py"));
  const out = path.join(dir, `${name}.lhdb`);
  const r = await runCli(["run", "--out", out, "--quiet", "--", "python3", "service.py"], { cwd: checkout, env: { LEAK_SECONDS: seconds } });
  expect(r.code, r.stderr).toBe(0);
  return out;
}

const files: Record<string, string> = {};

async function diff(before: string, after: string, extra: string[] = []) {
  const json = path.join(dir, `diff-${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(["diff", files[before], files[after], "--json", json, ...extra]);
  const report = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, "utf8")) : null;
  if (report) expect(diffErrors(report)).toBeNull();
  return { ...r, report };
}

beforeAll(async () => {
  const runs: [string, string, string][] = [
    ["leak", "diff_leak.py", "6"],
    ["fixed", "diff_fixed.py", "6"],
    ["elsewhere", "diff_new_leak.py", "6"],
    ["short", "diff_fixed.py", "1"],
  ];
  // Two at a time: the machine has two cores.
  for (let i = 0; i < runs.length; i += 2) {
    const done = await Promise.all(runs.slice(i, i + 2).map(([name, program, seconds]) => capture(name, program, seconds)));
    runs.slice(i, i + 2).forEach(([name], k) => (files[name] = done[k]));
  }
});

describe("leakhound diff", () => {
  it("the fixed leak is found by its code although the fix moved its line", async () => {
    const r = await diff("leak", "fixed");
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.counts).toMatchObject({ fixed: 1, "still-leaking": 0, new: 0 });
    const e = r.report.entries.find((x: any) => x.code === LEAK_CODE);
    expect(e.status).toBe("fixed");
    expect(e.before.site).toMatchObject({ function: "handle", line: 9 });
    expect(e.before.leak).toBe(true);
    expect(e.after.leak).toBe(false);
    expect(e.reason).toMatch(/would have grown/);
    // The terminal: the line move, the rates in the project's units, the code.
    expect(r.stdout).toMatch(/^leakhound diff: 1 fixed, 0 still leaking, 0 new, \d+ inconclusive$/m);
    expect(r.stdout).toMatch(/FIXED\s+service\.py:9 → \d+ \(handle\)\s+\+[\d.]+ (KiB|MiB)\/s → \+?[\d.]+ (B|KiB)\/s/);
    expect(r.stdout).toContain(LEAK_CODE);
  });

  it("a capture compared with itself never says fixed", async () => {
    for (const name of ["leak", "fixed", "short"]) {
      const r = await diff(name, name, ["--fail-on-new-leak"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.report.counts.fixed).toBe(0);
      expect(r.report.counts.new).toBe(0);
    }
    const self = await diff("leak", "leak");
    expect(self.report.entries.length).toBeGreaterThan(0);
    for (const e of self.report.entries) expect(e.status).toBe("still-leaking");
    expect(self.stdout).toMatch(/STILL LEAKING\s+service\.py:9 \(handle\)/);
  });

  it("a fix that leaks elsewhere: the old leak fixed, the new one new; --fail-on-new-leak exits 3", async () => {
    const r = await diff("leak", "elsewhere", ["--fail-on-new-leak"]);
    expect(r.code).toBe(3);
    const byStatus = Object.fromEntries(r.report.entries.map((e: any) => [e.status, e]));
    expect(byStatus.fixed.code).toBe(LEAK_CODE);
    expect(byStatus.new.after.site).toMatchObject({ function: "audit" });
    expect(byStatus.new.code).toMatch(/^AUDIT\.append/);
    expect(r.stdout).toMatch(/NEW LEAK\s+service\.py:\d+ \(audit\)\s+— → \+[\d.]+ (KiB|MiB)\/s/);
    // Without the option, a new leak does not change the exit code.
    expect((await diff("leak", "elsewhere")).code).toBe(0);
  });

  it("an after-run too short to have seen the leak is inconclusive, not fixed", async () => {
    const r = await diff("leak", "short");
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.entries.length).toBeGreaterThan(0);
    for (const e of r.report.entries) expect(e.status).toBe("inconclusive");
    expect(r.report.entries[0].reason).toMatch(/too short/);
    // The short run may or may not have sampled the moved line: the arrow to its new line is optional.
    expect(r.stdout).toMatch(/INCONCLUSIVE\s+service\.py:9( → \d+)? \(handle\)\s+\+[\d.]+ (KiB|MiB)\/s → \?/);
  });

  it("bad input: one line and the documented exit code", async () => {
    const junk = path.join(dir, "junk.lhdb");
    fs.writeFileSync(junk, "not a capture");
    const cases: [string[], number, RegExp][] = [
      [["diff", path.join(dir, "missing.lhdb"), files.fixed], 4, /no such file/],
      [["diff", files.leak, junk], 4, /not a leakhound capture/],
      [["diff", files.leak, files.fixed, "--json", path.join(dir, "no-such-dir", "d.json")], 2, /cannot write --json/],
      [["diff", files.leak], 2, /missing required argument 'after'/],
      [["diff", files.leak, files.fixed, "--json", files.fixed], 2, /it is the capture being read/],
    ];
    for (const [args, code, pattern] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(code);
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^leakhound: /);
      expect(lines[0]).toMatch(pattern);
    }
  });
});
