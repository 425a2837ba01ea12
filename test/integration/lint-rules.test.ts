// Every rule's positive fixtures are flagged exactly on their `# expect:` lines and its
// negative fixtures not at all, with every CPython 3.8+ on this machine (each parses with its own ast).
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { LINT_FIXTURES, expectedFindings, fixtureFiles, lintJsonErrors } from "../helpers/lint.js";

// Every CPython 3.8+ found (pyenv's and `python3`), plus Debian's own (a second run of the same one is harmless).
const pythons = findPythons();
if (fs.existsSync("/usr/bin/python3")) pythons.push({ version: "/usr/bin/python3", path: "/usr/bin/python3" });

describe("lint rules: fixtures", () => {
  it("has a positive and a negative fixture for every rule, and the rules are the fixture folders", async () => {
    const res = await runCli(["lint", "--json", path.join(tempDir(), "r.json"), "--quiet", path.join(LINT_FIXTURES, "gc-disabled")], { cwd: LINT_FIXTURES });
    expect(res.code).toBe(0);
    const folders = fs.readdirSync(LINT_FIXTURES).sort();
    const files = fixtureFiles();
    for (const rule of folders) {
      expect(files.some((f) => f.startsWith(`${rule}/positive/`)), rule).toBe(true);
      expect(files.some((f) => f.startsWith(`${rule}/negative/`)), rule).toBe(true);
      expect(files.filter((f) => f.startsWith(`${rule}/positive/`)).flatMap(expectedFindings).some((e) => e.includes(` ${rule} `)), rule).toBe(true);
    }
  });

  it.each(pythons.map((p) => [p.version, p.path]))("Python %s: exactly the expected findings, each of its confidence", async (_v, python) => {
    const json = path.join(tempDir(), "lint.json");
    const res = await runCli(["lint", "--python", python, "--confidence", "low", "--json", json, "--quiet", "."], { cwd: LINT_FIXTURES });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(lintJsonErrors(doc)).toBeNull();
    expect(doc.notes).toEqual([]);
    const folders = fs.readdirSync(LINT_FIXTURES).sort();
    expect(doc.rules.map((r: { id: string }) => r.id).sort()).toEqual(folders);
    for (const rel of fixtureFiles()) {
      const got = doc.findings.filter((f: { file: string }) => f.file === rel).map((f: { line: number; rule: string; confidence: string }) => `${f.line} ${f.rule} ${f.confidence}`);
      expect(got.sort(), rel).toEqual(expectedFindings(rel).sort());
    }
  });

  it("by default, only the findings of high confidence, and how many of low confidence were left out", async () => {
    const json = path.join(tempDir(), "lint.json");
    const res = await runCli(["lint", "--json", json, "."], { cwd: LINT_FIXTURES });
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(lintJsonErrors(doc)).toBeNull();
    const expected = fixtureFiles().flatMap((rel) => expectedFindings(rel).map((e) => `${rel} ${e}`));
    const high = expected.filter((e) => e.endsWith(" high"));
    expect(doc.findings.map((f: { file: string; line: number; rule: string }) => `${f.file} ${f.line} ${f.rule} high`).sort()).toEqual(high.sort());
    expect(doc).toMatchObject({ confidence: "high", lowConfidence: expected.length - high.length });
    expect(res.stdout).toContain(`${expected.length - high.length} findings of low confidence not shown (--confidence low)`);
  });
});
