// CI outputs of `leakhound run` and `leakhound report`: SARIF 2.1.0 (validated
// against the OASIS schema) with each leak at its line, JUnit XML (parsed by
// Python's own XML parser) with a failed test case per leaking process, and GitHub
// Actions annotations plus a Markdown job summary.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { PROGRAMS, runCli, runLeakhound, tempDir } from "../helpers/cli.js";
import { sarifErrors } from "../helpers/sarif-schema.js";

/** The JUnit file as Python's xml.etree reads it: suites' counts and each case's name and failure. */
function parseJunit(file: string): any {
  const py = `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root.find("testsuite")
print(json.dumps({"tag": root.tag, "tests": root.get("tests"), "failures": root.get("failures"),
  "cases": [{"name": c.get("name"), "classname": c.get("classname"),
             "failure": (c.find("failure").get("message") if c.find("failure") is not None else None),
             "text": (c.find("failure").text if c.find("failure") is not None else None)} for c in suite.findall("testcase")]}))
`;
  const r = spawnSync("python3", ["-c", py, file], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout);
}

describe("CI outputs", () => {
  it("run --sarif --junit --github: the leak at its line in each, and report writes the same from the capture", async () => {
    const dir = tempDir("lh-ci-");
    const summary = path.join(dir, "summary.md");
    const sarif = path.join(dir, "leaks.sarif");
    const junit = path.join(dir, "junit.xml");
    const r = await runLeakhound(["python3", "leak_registry.py"], ["--quiet", "--sarif", sarif, "--junit", junit, "--github"], {
      env: { LEAK_SECONDS: "5", GITHUB_STEP_SUMMARY: summary },
    });
    expect(r.report.verdict).toBe("leak");

    const log = JSON.parse(fs.readFileSync(sarif, "utf8"));
    expect(sarifErrors(log)).toBeNull();
    const results = log.runs[0].results;
    expect(results.length).toBe(r.report.leaks.filter((l: any) => l.site).length);
    const first = results[0];
    expect(first.ruleId).toBe("python-leak");
    expect(first.level).toBe("error");
    expect(first.locations[0].physicalLocation.artifactLocation).toEqual({ uri: "leak_registry.py", uriBaseId: "%SRCROOT%" });
    expect(first.locations[0].physicalLocation.region.startLine).toBe(r.report.leaks[0].site.line);
    expect(first.message.text).toMatch(/^Memory allocated here grew \+[\d.]+ [KM]iB \(\+[\d.]+ [KM]iB\/s\) in pid \d+; .* Kept alive by: module __main__ → REGISTRY/);

    const xml = parseJunit(junit);
    expect(xml.tag).toBe("testsuites");
    expect(xml.failures).toBe("1");
    expect(xml.cases).toHaveLength(1);
    expect(xml.cases[0].name).toMatch(/^pid \d+: \S*python3[\d.]* leak_registry\.py$/);
    expect(xml.cases[0].failure).toMatch(/^\d+ leaks?; first at .*leak_registry\.py:\d+$/);
    expect(xml.cases[0].text).toMatch(/Kept alive by: module __main__ → REGISTRY/);

    // Annotations on stdout (the target's own stdout comes first), one per leak with a line.
    const annotations = r.stdout.split("\n").filter((l) => l.startsWith("::"));
    expect(annotations.length).toBe(results.length);
    expect(annotations[0]).toMatch(new RegExp(`^::error file=leak_registry\\.py,line=${r.report.leaks[0].site.line},title=Memory leak::Memory allocated here grew`));
    const md = fs.readFileSync(summary, "utf8");
    expect(md).toMatch(/^### leakhound: leak found\n/);
    expect(md).toMatch(/\| 1 \| `leak_registry\.py:\d+` in `[^`]+` \| \+[\d.]+ [KM]iB/);

    // The same from the saved capture.
    const sarif2 = path.join(dir, "again.sarif");
    const junit2 = path.join(dir, "again.xml");
    const again = await runCli(["report", "--quiet", "--sarif", sarif2, "--junit", junit2, path.join(r.dir, "capture.lhdb")], { cwd: PROGRAMS });
    expect(again.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(sarif2, "utf8")).runs[0].results.map((x: any) => x.ruleId)).toEqual(results.map((x: any) => x.ruleId));
    expect(parseJunit(junit2).failures).toBe("1");
  }, 60_000);

  it("no leak: an empty SARIF run, a passing test case, no annotation", async () => {
    const dir = tempDir("lh-ci-");
    const sarif = path.join(dir, "none.sarif");
    const junit = path.join(dir, "none.xml");
    const script = path.join(dir, "flat.py");
    fs.writeFileSync(script, "import time\nend = time.monotonic() + 4\nwhile time.monotonic() < end:\n    x = [bytearray(1000) for _ in range(100)]\n    time.sleep(0.01)\n");
    const r = await runLeakhound(["python3", script], ["--quiet", "--sarif", sarif, "--junit", junit, "--github"], { env: { GITHUB_STEP_SUMMARY: "" } });
    expect(r.report.verdict).toBe("no-leak");
    const log = JSON.parse(fs.readFileSync(sarif, "utf8"));
    expect(sarifErrors(log)).toBeNull();
    expect(log.runs[0].results).toEqual([]);
    const xml = parseJunit(junit);
    expect([xml.failures, xml.cases.length, xml.cases[0].failure]).toEqual(["0", 1, null]);
    expect(r.stdout).not.toMatch(/^::/m);
  }, 60_000);

  it("an output that cannot be written is refused before the target starts", async () => {
    const r = await runCli(["run", "--junit", "/nonexistent-dir/x.xml", "--", "python3", "-c", "print('ran')"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^leakhound: cannot write --junit .*x\.xml/);
  });
});
