// The generic CI writers (SARIF, GitHub annotations) and the lint pieces that need no Python.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { annotation, escapeData, escapeProperty, githubAnnotations } from "../../src/report/github.js";
import { toSarif } from "../../src/report/sarif.js";
import type { CiFinding } from "../../src/report/ci-findings.js";
import { globToRegExp, isExcluded, isTestPath } from "../../src/lint/files.js";
import { ProjectEvidence, moduleMatcher, moduleNames, moduleStem, strongAlternative, withBases } from "../../src/lint/evidence.js";
import { displayPath, largestFirst } from "../../src/lint/run.js";
import { renderLintTerminal } from "../../src/lint/terminal.js";
import { readConfig } from "../../src/lint/config.js";
import type { LintResult } from "../../src/lint/model.js";
import { sarifErrors } from "../helpers/sarif-schema.js";

const finding: CiFinding = { ruleId: "unbounded-cache", level: "warning", message: "50% of it\nleaks", file: "src/a b.py", line: 3, column: 5, endLine: 3, endColumn: 9 };

describe("GitHub annotations", () => {
  it("escapes data and properties per GitHub's rules", () => {
    expect(escapeData("a%b\r\nc")).toBe("a%25b%0D%0Ac");
    expect(escapeProperty("x:y,z%")).toBe("x%3Ay%2Cz%25");
  });

  it("writes one command per finding; notes become notices", () => {
    expect(annotation(finding, "t: 1, 2")).toBe("::warning file=src/a b.py,line=3,endLine=3,col=5,endColumn=9,title=t%3A 1%2C 2::50%25 of it%0Aleaks\n");
    const note: CiFinding = { ruleId: "not-linted", level: "note", message: "syntax error", file: "b.py" };
    expect(githubAnnotations([note])).toBe("::notice file=b.py,title=not-linted::syntax error\n");
  });
});

describe("SARIF", () => {
  it("is valid SARIF 2.1.0 with rules, levels and regions; paths relative to the root", () => {
    const root = "/proj";
    const log = toSarif({ name: "leakhound", version: "1.2.3" }, [{ id: "unbounded-cache", title: "Unbounded cache", help: "Grows." }], [
      finding,
      { ...finding, file: "/elsewhere/x.py", ruleId: "other", level: "note", line: undefined },
    ], root) as any;
    expect(sarifErrors(log)).toBeNull();
    const [a, b] = log.runs[0].results;
    expect(a).toMatchObject({ ruleId: "unbounded-cache", ruleIndex: 0, level: "warning", message: { text: "50% of it\nleaks" } });
    expect(a.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: "src/a%20b.py", uriBaseId: "%SRCROOT%" }, region: { startLine: 3, startColumn: 5, endLine: 3, endColumn: 9 } });
    expect(b.ruleIndex).toBeUndefined();
    expect(b.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: "file:///elsewhere/x.py" } });
    expect(log.runs[0].tool.driver.rules[0]).toMatchObject({ id: "unbounded-cache", name: "UnboundedCache", shortDescription: { text: "Unbounded cache" } });
  });
});

describe("lint files and config", () => {
  it("globs: bare names match at any depth, folders match what is under them", () => {
    const ex = ["vendor", "gen/*.py", "**/migrations/**", "t?st.py"].map(globToRegExp);
    expect(isExcluded("vendor/x.py", ex)).toBe(true);
    expect(isExcluded("a/vendor/x.py", ex)).toBe(true);
    expect(isExcluded("vendors/x.py", ex)).toBe(false);
    expect(isExcluded("gen/a.py", ex)).toBe(true);
    expect(isExcluded("gen/sub/a.py", ex)).toBe(false); // * stays within one folder
    expect(isExcluded("x/gen/a.py", ex)).toBe(false);
    expect(isExcluded("app/migrations/0001.py", ex)).toBe(true);
    expect(isExcluded("test.py", ex)).toBe(true);
  });

  it("tells test code by its path: test folders of every usual name, a package's test support package", () => {
    for (const p of ["tests/a.py", "pkg/test/a.py", "testing/a.py", "test_a.py", "a_test.py", "conftest.py", "tests.py",
      "pkg/monitors/test.py", "nextgisweb/pytest/core.py", "x/unit_tests/a.py", "tests_with_db/a.py", "kstreams/test_utils/a.py", "django_q/testing_utilities/a.py",
      "end_to_end_test/a.py", "perf_test/a.py", "pkg/testing_helper/a.py", "testsuite/lib/python/ami.py", "x/test_suite/a.py",
      "features/steps/pair_steps.py", "app/features/environment.py"]) expect([p, isTestPath(p)]).toEqual([p, true]);
    for (const p of ["pkg/a.py", "ab_testing/a.py", "speed_test/a.py", "contest/a.py", "attestation/a.py", "latest/a.py", "testimonials/a.py",
      "app/steps/a.py", "features/a.py", "features/billing/environment.py"]) {
      expect([p, isTestPath(p)]).toEqual([p, false]);
    }
    // `app_testing` is test support only beside an `app` package.
    expect(isTestPath("app_testing/db.py", new Set(["app", "app_testing"]))).toBe(true);
    expect(isTestPath("src/app_testing/db.py", new Set(["src", "src/app", "src/app_testing"]))).toBe(true);
    expect(isTestPath("app_testing/db.py", new Set(["app_testing"]))).toBe(false);
    expect(isTestPath("ab_testing/a.py", new Set(["ab_testing", "web"]))).toBe(false);
  });

  it("counts a class made per call or per request as its bases made so, through chains of bases", () => {
    const made = new Set(["Billing", "request:Ledger", "ext:Billing:Pooled", "ext:Pooled:Base", "ext:Ledger:Shared", "ext:Unused:Other", "once:Audit", "ext:Audit:Logged"]);
    withBases(made);
    expect([...made].filter((n) => !n.startsWith("ext:")).sort()).toEqual(["Base", "Billing", "Pooled", "once:Audit", "request:Ledger", "request:Shared"]);
  });

  it("counts what a constructor makes as made per call (or per request) where its class is, through chains", () => {
    // `ExpenseHandler(...)` per request; its `__init__` makes a `BertSimilarity()`, whose base runs too,
    // and whose own constructor makes a `Tokenizer`; a class made once (`once:`) says nothing.
    const project = new ProjectEvidence("/app");
    project.add(["def:ExpenseHandler", "init:ExpenseHandler:BertSimilarity~similarity"], "/app/services/handlers.py");
    project.add(["def:BertSimilarity", "ext:BertSimilarity:SimilarityModel", "init:BertSimilarity:Tokenizer"], "/app/services/similarity.py");
    project.add(["def:Config", "init:Config:Pool"], "/app/config.py");
    project.add(["request:ExpenseHandler~services.handlers", "once:Config"], "/app/views.py");
    project.finish();
    expect([...project.made].filter((n) => !n.startsWith("ext:")).sort()).toEqual([
      "once:Config", "request:BertSimilarity~similarity", "request:ExpenseHandler~services.handlers",
      "request:SimilarityModel", "request:Tokenizer"]);
    // Two projects' `Window` in one folder: a bare `Window()` made in one says nothing of the other's
    // constructor; one that names its module does.
    const pooled = new ProjectEvidence("/samples");
    pooled.add(["def:Window", "init:Window:ZoomLevel"], "/samples/reader/window.py");
    pooled.add(["def:Window"], "/samples/editor/window.py");
    pooled.add(["Window"], "/samples/editor/app.py");
    pooled.finish();
    expect(pooled.made.has("ZoomLevel")).toBe(false);
    const named = new ProjectEvidence("/samples");
    named.add(["def:Window", "init:Window:ZoomLevel"], "/samples/reader/window.py");
    named.add(["def:Window"], "/samples/editor/window.py");
    named.add(["Window~reader.window"], "/samples/reader/app.py");
    named.finish();
    expect(named.made.has("ZoomLevel")).toBe(true);
  });

  it("a call that says which module it runs counts only for that module's name; a name several files define needs one", () => {
    const project = new ProjectEvidence("/app");
    const feed = ["def:Command", "def:poll", "def:get_logger"];
    const timetable = ["def:Command"];
    project.add(feed, "/app/commands/import_feed.py");
    project.add(timetable, "/app/commands/import_timetable.py");
    // A view: `import_feed.Command()` per request, `poll()` imported from the package that re-exports
    // it, `structlog.get_logger()`, and a bare `Command()` (a star import: the call does not say).
    project.add(["def:debug", "request:Command~import_feed", "poll~commands", "get_logger~structlog", "Command"], "/app/views.py");
    project.finish();
    const inFeed = project.lookup("/app/commands/import_feed.py", feed);
    expect(project.met([["request:Command"], ["poll"], ["!once:Command"], ["get_logger"]], inFeed)).toEqual([["request:Command"], ["poll"], ["!once:Command"]]);
    // The other `Command`: neither the view's qualified call nor the bare one (two files define it).
    const inTimetable = project.lookup("/app/commands/import_timetable.py", timetable);
    expect(project.met([["request:Command"], ["Command"]], inTimetable)).toEqual([]);
    // A name this file does not define: a bare call counts.
    expect(project.met([["Command"]], project.lookup("/app/other.py", ["def:other"]))).toEqual([["Command"]]);
    expect(moduleNames("/app/commands/import_feed.py", "/app")).toEqual(new Set(["import_feed", "commands", "app"]));
    expect(moduleStem("/app/transit/__init__.py")).toBe("transit");
  });

  it("a class a package offers is the one it imports from its module, where two of its files define the name", () => {
    const project = new ProjectEvidence("/app");
    const core = ["def:Config"], command = ["def:Config"], client = ["def:Client"];
    project.add(core, "/app/pkg/core/config.py");
    project.add(command, "/app/pkg/commands/config.py");
    project.add(client, "/app/pkg/client.py");
    project.add(["def:Config"], "/app/other/config.py"); // outside the package: no matter
    project.add(["public:Config@/app/pkg", "public:Config@/app/pkg~pkg.commands.config", "public:Client@/app/pkg", "public:Client@/app/pkg~pkg.api"], "/app/pkg/__init__.py");
    project.finish();
    const needs = (cls: string) => [[`public:${cls}@/app/pkg`]];
    expect(project.met(needs("Config"), project.lookup("/app/pkg/commands/config.py", command))).toHaveLength(1);
    expect(project.met(needs("Config"), project.lookup("/app/pkg/core/config.py", core))).toHaveLength(0);
    // Imported through a module that re-exports it (`from .api import Client`): one Client in the package.
    expect(project.met(needs("Client"), project.lookup("/app/pkg/client.py", client))).toHaveLength(1);
  });

  it("matches a call's dotted module to the files it can name: a run of their folders and name", () => {
    const own = moduleMatcher("/p/suite/utils/logging.py", "/p");
    const other = moduleMatcher("/p/suite/openicl/utils/logging.py", "/p");
    // `from suite.utils import get_logger`: the package re-exports its module's name.
    expect(["suite.utils", "suite.utils.logging", "utils.logging", "utils", "logging"].map(own)).toEqual([true, true, true, true, true]);
    expect(["suite.utils", "suite.utils.logging", "openicl.utils", "utils.logging", "utils"].map(other)).toEqual([false, false, true, true, true]);
    // Another library's module of the same last name is not the project's.
    expect(["structlog.logging", "tests.suite", "suite.logging"].map(own)).toEqual([false, false, false]);
    // A package's `__init__.py` is the package; a subfolder linted alone still matches its full name.
    expect(moduleMatcher("/p/suite/utils/__init__.py", "/p")("suite.utils")).toBe(true);
    expect(moduleMatcher("/p/suite/utils/logging.py", "/p/suite/utils")("suite.utils.logging")).toBe(true);
  });

  it("counts a class made as NAME~module as its bases made so", () => {
    const made = new Set(["request:Billing~views", "Ledger~jobs", "ext:Billing:Pooled", "ext:Ledger:Shared"]);
    withBases(made);
    expect([...made].filter((n) => !n.startsWith("ext:")).sort()).toEqual(["Ledger~jobs", "Shared", "request:Billing~views", "request:Pooled"]);
  });

  it("counts an object a handler keeps using (request:kept:) as its bases kept so, and looks it up by its bare name", () => {
    const made = new Set(["request:kept:Billing~views", "request:Billing~views", "ext:Billing:Pooled"]);
    withBases(made);
    expect([...made].filter((n) => !n.startsWith("ext:")).sort()).toEqual(["request:Billing~views", "request:Pooled", "request:kept:Billing~views", "request:kept:Pooled"]);
    const project = new ProjectEvidence("/app");
    const views = ["def:Billing"];
    project.add(views, "/app/views.py");
    project.add(["def:Billing"], "/app/billing.py");
    // A bare `Billing()` kept by a handler: not enough where two files define `Billing`.
    project.add(["request:kept:Billing"], "/app/handlers.py");
    project.finish();
    expect(project.met([["request:kept:Billing"]], project.lookup("/app/views.py", views))).toEqual([]);
    expect(project.met([["request:kept:Billing"]], project.lookup("/app/other.py", ["def:other"]))).toEqual([["request:kept:Billing"]]);
  });

  it("takes a handler's call of a class as strong evidence, not its call of a method name on some object", () => {
    const made = new Set(["request:Holder", "request:.create", "Holder", ".create"]);
    const has = (n: string) => made.has(n);
    expect(strongAlternative(["Holder", ".create"], has)).toBe(true);
    made.delete("request:Holder");
    // `accounts.create(...)` in a handler says nothing of which class's `create` runs.
    expect(strongAlternative(["Holder", ".create"], has)).toBe(false);
    expect(strongAlternative(["request:Holder", ".create"], has)).toBe(true);
    expect(strongAlternative(["public:Holder@/app"], has)).toBe(true);
  });

  it("hands files out largest first, each file once", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-split-"));
    const sizes = [100, 900, 400, 300, 500, 100];
    const files = sizes.map((n, i) => {
      const f = path.join(dir, `f${i}.py`);
      fs.writeFileSync(f, "x".repeat(n));
      return f;
    });
    const order = largestFirst([...files, path.join(dir, "missing.py")]);
    expect(order.map((f) => path.basename(f))).toEqual(["f1.py", "f4.py", "f2.py", "f3.py", "f0.py", "f5.py", "missing.py"]);
  });

  it("display paths are relative under the working directory", () => {
    expect(displayPath("/w/a/b.py", "/w")).toBe(path.join("a", "b.py"));
    expect(displayPath("/x/b.py", "/w")).toBe("/x/b.py");
  });

  it("reads [tool.leakhound]; no section means no settings", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-cfg-"));
    const f = path.join(dir, "pyproject.toml");
    fs.writeFileSync(f, '[tool.leakhound]\ndisable = ["gc-disabled"]\nexclude = ["build/**"]\n');
    expect(readConfig(f)).toEqual({ disable: ["gc-disabled"], exclude: ["build/**"], source: f });
    fs.writeFileSync(f, '[tool.black]\nline-length = 100\n');
    expect(readConfig(f)).toEqual({ disable: [], exclude: [], source: f });
    fs.writeFileSync(f, '[tool.leakhound]\nconfidence = "low"\n');
    expect(readConfig(f)).toEqual({ disable: [], exclude: [], confidence: "low", source: f });
    fs.writeFileSync(f, '[tool.leakhound]\nconfidence = "medium"\n');
    expect(() => readConfig(f)).toThrow(/confidence must be "high" or "low"/);
    expect(readConfig(null)).toEqual({ disable: [], exclude: [], source: null });
  });
});

describe("lint terminal report", () => {
  const result: LintResult = {
    python: { path: "python3", version: "3.11.7" },
    rules: [],
    findings: [
      { rule: "gc-disabled", file: "a.py", line: 4, column: 5, endLine: 4, endColumn: 17, message: "Bad\u202eidea.", fix: "Pair it.", container: null, confidence: "high" },
      { rule: "method-cache", file: "b.py", line: 10, column: 6, endLine: 10, endColumn: 20, message: "M.", fix: "F.", container: null, confidence: "low", lowBecause: "it may run once" },
    ],
    notes: [{ file: "c.py", message: "syntax error on line 1: invalid syntax (not linted)" }],
    files: 3,
    lines: 1234,
    testFiles: 0,
    disabled: ["unbounded-cache"],
    confidence: "low",
    lowConfidence: 0,
    durationSec: 0.25,
  };

  it("says how many findings of low confidence it left out", () => {
    const text = renderLintTerminal({ ...result, findings: [], notes: [], confidence: "high", lowConfidence: 3, disabled: [] }, { color: false });
    expect(text).toBe("leakhound lint: 0 findings in 3 files (1,234 lines, Python 3.11.7, 250 ms); 3 findings of low confidence not shown (--confidence low)\n");
  });

  it("groups by file, escapes control characters, and sums up", () => {
    const text = renderLintTerminal(result, { color: false });
    expect(text).toBe(
      [
        "a.py",
        "  4:5     gc-disabled  Bad\\u202eidea.",
        "          fix: Pair it.",
        "",
        "b.py",
        "  10:6    method-cache  M.",
        "          fix: F.",
        "          low confidence: it may run once",
        "",
        "Not linted:",
        "  c.py: syntax error on line 1: invalid syntax (not linted)",
        "",
        "leakhound lint: 2 findings in 2 of 3 files (1,234 lines, Python 3.11.7, 250 ms); 1 file not linted; off: unbounded-cache",
        "",
      ].join("\n"),
    );
  });

  it("folds a run of four or more findings that differ in one name into one list of the others", () => {
    const m = (line: number, name: string, fix = "F."): LintResult["findings"][number] => ({
      rule: "method-cache", file: "v.py", line, column: 6, endLine: line, endColumn: 16,
      message: `\`@cache\` on \`View.${name}()\` keeps \`self\`.`, fix, container: null, confidence: "high",
    });
    const names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
    const many = names.map((n, k) => m(10 * (k + 1), `${n.repeat(12)}`));
    const text = renderLintTerminal({ ...result, findings: [...many, m(200, "z", "Other fix.")], notes: [], disabled: [] }, { color: false });
    const lines = text.split("\n");
    expect(lines.slice(0, 4)).toEqual([
      "v.py",
      "  10:6    method-cache  `@cache` on `View.aaaaaaaaaaaa()` keeps `self`.",
      "          fix: F.",
      "          the same for 11 more: 20:6 `View.bbbbbbbbbbbb()`, 30:6 `View.cccccccccccc()`,",
    ]);
    expect(lines.every((l) => l.length <= 100)).toBe(true);
    // every folded finding is still named with its line; one with another fix is not folded
    for (const f of many.slice(1)) expect(text).toContain(`${f.line}:6 \`View.${names[f.line / 10 - 1].repeat(12)}()\``);
    expect(text).toContain("  200:6   method-cache  `@cache` on `View.z()` keeps `self`.\n          fix: Other fix.");
    expect(text).toContain("leakhound lint: 13 findings in 1 of 3 files");
    // three alike findings are shown one by one
    const three = renderLintTerminal({ ...result, findings: many.slice(0, 3), notes: [], disabled: [] }, { color: false });
    expect(three).not.toContain("the same for");
    expect(three.match(/fix: F\./g)).toHaveLength(3);
  });
});
