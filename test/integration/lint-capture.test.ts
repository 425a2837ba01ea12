// `leakhound lint --capture X.lhdb`: a finding whose container holds a leak of that run
// is linked to it and ranked by the memory it held (the demo's `_SESSIONS` dict).
import { beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { ROOT, runCli, runLeakhound } from "../helpers/cli.js";
import { lintJsonErrors } from "../helpers/lint.js";
import { reportErrors } from "../helpers/schema.js";

const DEMO = path.join(ROOT, "examples", "demo", "app.py");

describe("leakhound lint --capture, leakhound report --lint", () => {
  let dir = "";
  let capture = "";
  beforeAll(async () => {
    const run = await runLeakhound(["python3", DEMO], ["--quiet"], { env: { DEMO_SECONDS: "6" }, cwd: ROOT });
    expect(run.report?.verdict).toBe("leak");
    dir = run.dir;
    capture = path.join(run.dir, "capture.lhdb");
  });

  it("links the finding to the leaks its container holds, and ranks it first", async () => {
    const run = { dir };
    const json = path.join(run.dir, "lint.json");
    // A second file with a finding of its own that matches nothing in this run.
    const other = path.join("test", "fixtures", "lint", "global-container-growth", "positive", "request_log.py");
    const res = await runCli(["lint", "--capture", capture, "--json", json, other, "examples/demo"], { cwd: ROOT });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(lintJsonErrors(doc)).toBeNull();
    expect(doc.capture).toBe(capture);
    const [first, second] = doc.findings;
    expect(first).toMatchObject({ file: path.join("examples", "demo", "app.py"), line: 35, rule: "global-container-growth", container: "_SESSIONS" });
    expect(first.runtime.via).toBe("retainer");
    // Of low confidence alone (a call is its only static evidence); the run's leak confirms it.
    expect(first.confidence).toBe("high");
    expect(first.lowBecause).toBeUndefined();
    expect(first.runtime.leaks).toContain(1);
    expect(first.runtime.liveBytes).toBeGreaterThan(1024 * 1024);
    expect(second).toMatchObject({ file: other, runtime: null });
    expect(res.stdout).toMatch(/^ {10}at run time: [\d.]+ MiB live in leaks? #1.* \(held by `_SESSIONS`\), \+[\d.]+ (MiB|KiB) after warm-up$/m);
    expect(res.stdout).toMatch(/; 1 finding matched leaks of /);
  });

  it("report --lint puts the rule's sentence and fix beside each leak it explains (JSON and terminal)", async () => {
    const json = path.join(dir, "report.json");
    const res = await runCli(["report", "--lint", "--json", json, capture], { cwd: ROOT });
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    const report = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(reportErrors(report)).toBeNull();
    const first = report.leaks.find((l: any) => l.rank === 1);
    expect(first.causes).toEqual([
      expect.objectContaining({ rule: "global-container-growth", file: path.join("examples", "demo", "app.py"), line: 35, via: "retainer", fix: expect.stringMatching(/WeakValueDictionary/) }),
    ]);
    expect(res.stdout).toMatch(/^ {3}cause: The module-level dict `_SESSIONS` gets a new entry .* \(global-container-growth, examples\/demo\/app\.py:35\)$/m);
    expect(res.stdout).toMatch(/^ {3}fix: Hold the objects weakly/m);
    // Without --lint the report has no causes.
    const plain = await runCli(["report", "--json", json, "--quiet", capture], { cwd: ROOT });
    expect(plain.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(json, "utf8")).leaks.every((l: any) => l.causes === undefined)).toBe(true);
  });

  it("a capture that cannot be read: one line, exit 4", async () => {
    const res = await runCli(["lint", "--capture", "/no/such.lhdb", "."], { cwd: ROOT });
    expect(res.code).toBe(4);
    expect(res.stderr).toBe("leakhound: /no/such.lhdb: no such file\n");
  });
});

describe("leakhound run --lint: a once-made object's container", () => {
  it("names singleton-container-growth beside the leak at its line, and beside every leak whose path goes through the attribute", async () => {
    const program = path.join(ROOT, "test", "fixtures", "programs", "leak_once_made_broker.py");
    const run = await runLeakhound(["python3", program], ["--quiet", "--lint"], { env: { LEAK_SECONDS: "10" }, cwd: ROOT });
    expect(run.code, run.stderr).toBe(0);
    expect(reportErrors(run.report)).toBeNull();
    expect(run.report.verdict).toBe("leak");
    const rule = "singleton-container-growth";
    const atLine = run.report.leaks.find((l: any) => l.site.file === program && l.site.line === 14);
    expect(atLine, JSON.stringify(run.report.leaks.map((l: any) => l.site))).toBeTruthy();
    expect(atLine.causes, JSON.stringify(atLine.causes)).toEqual([expect.objectContaining({ rule, line: 14, via: "site", fix: expect.stringMatching(/self\.unacked\.pop\(key, None\)/) })]);
    // The search at exit finds the broker through its module global; wherever it is found (a frame's
    // `self`, a global), a path through `.unacked` names the cause.
    const through = run.report.leaks.filter((l: any) => l.retainers.some((r: any) => / \(Broker\) → \.unacked \(dict/.test(r.text)));
    expect(through.length, JSON.stringify(run.report.leaks.map((l: any) => [l.site.line, l.retainers[0]?.text ?? l.retainerNote]))).toBeGreaterThan(0);
    for (const leak of run.report.leaks) {
      if (leak.retainers.some((r: any) => / \(Broker\) → \.unacked \(dict/.test(r.text))) {
        expect(leak.causes?.map((c: any) => c.rule), leak.retainers[0].text).toContain(rule);
      }
    }
  });
});
