// `leakhound lint` as a user runs it: outputs (terminal, JSON, SARIF, GitHub annotations),
// configuration, suppression, files that do not parse, and every documented exit code.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { runCli, tempDir } from "../helpers/cli.js";
import { findAllPythons, findPythons } from "../helpers/pythons.js";
import { lintJsonErrors } from "../helpers/lint.js";
import { sarifErrors } from "../helpers/sarif-schema.js";
import { lint } from "../../src/lint/run.js";

const LEAKY = `import logging

_seen = []
log = logging.getLogger(__name__)


def handle(request):
    _seen.append(request)
    log.addHandler(logging.StreamHandler())
    return request


def serve(requests):
    return [handle(r) for r in requests]
`;

/** A project folder with the given files. */
function project(files: Record<string, string>): string {
  const dir = tempDir("lh-lint-");
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function noStackTrace(stderr: string) {
  expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(stderr).not.toMatch(/Traceback/);
}

describe("leakhound lint", () => {
  it("prints findings grouped by file with their fix, and exits 0", async () => {
    const dir = project({ "app/views.py": LEAKY, "app/clean.py": "def f(x):\n    return x\n" });
    const res = await runCli(["lint", "app"], { cwd: dir });
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    const lines = res.stdout.split("\n");
    expect(lines[0]).toBe(path.join("app", "views.py"));
    expect(res.stdout).toMatch(/^ {2}8:5 +global-container-growth {2}The module-level list `_seen` is grown with `append` in `handle\(\)`/m);
    expect(res.stdout).toMatch(/^ {2}9:5 +handler-per-call {2}/m);
    expect(res.stdout).toMatch(/^ {10}fix: Bound it/m);
    expect(res.stdout).toMatch(/leakhound lint: 2 findings in 1 of 2 files \(16 lines, Python 3\.\d+\.\d+, /);
  });

  it("--fail-on-findings exits with the leak code (3) only when there is a finding", async () => {
    const dir = project({ "a.py": LEAKY, "b.py": "x = 1\n" });
    expect((await runCli(["lint", "--fail-on-findings", "a.py"], { cwd: dir })).code).toBe(3);
    expect((await runCli(["lint", "--fail-on-findings", "b.py"], { cwd: dir })).code).toBe(0);
  });

  it("writes JSON that matches its schema and SARIF 2.1.0 that matches the OASIS schema", async () => {
    const dir = project({ "src/m.py": LEAKY, "src/broken.py": "def f(:\n" });
    const res = await runCli(["lint", "--json", "out.json", "--sarif", "out.sarif", "--quiet", "src"], { cwd: dir });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe("");
    const doc = JSON.parse(fs.readFileSync(path.join(dir, "out.json"), "utf8"));
    expect(lintJsonErrors(doc)).toBeNull();
    expect(doc.schema).toBe("leakhound/lint@1");
    expect(doc.findings.map((f: any) => [f.file, f.line, f.column, f.rule])).toEqual([
      [path.join("src", "m.py"), 8, 5, "global-container-growth"],
      [path.join("src", "m.py"), 9, 5, "handler-per-call"],
    ]);
    expect(doc.findings[0].container).toBe("_seen");
    expect(doc.notes).toEqual([{ file: path.join("src", "broken.py"), message: expect.stringMatching(/^syntax error on line 1: .* \(not linted\)$/) }]);
    const sarif = JSON.parse(fs.readFileSync(path.join(dir, "out.sarif"), "utf8"));
    expect(sarifErrors(sarif)).toBeNull();
    const run = sarif.runs[0];
    expect(run.tool.driver.rules.map((r: any) => r.id)).toContain("unbounded-cache");
    const first = run.results[0];
    expect(first.ruleId).toBe("global-container-growth");
    expect(run.tool.driver.rules[first.ruleIndex].id).toBe("global-container-growth");
    expect(first.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: "src/m.py", uriBaseId: "%SRCROOT%" },
      region: { startLine: 8, startColumn: 5, endLine: 8, endColumn: 26 },
    });
    expect(first.message.text).toMatch(/ Fix: Bound it/);
    expect(run.results.at(-1)).toMatchObject({ ruleId: "not-linted", level: "note" });
  });

  it("--github prints one escaped workflow command per finding", async () => {
    const dir = project({ "odd, name:50%.py": LEAKY });
    const res = await runCli(["lint", "--github", "."], { cwd: dir });
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^::warning file=odd%2C name%3A50%25\.py,line=8,endLine=8,col=5,endColumn=26,title=leakhound global-container-growth%3A Global container grows on every call::The module-level list `_seen`.* Fix: /);
  });

  it("honours `# leakhound: ignore[...]`, bare `# leakhound: ignore`, and [tool.leakhound] in pyproject.toml", async () => {
    const suppressed = LEAKY.replace("_seen.append(request)", "_seen.append(request)  # leakhound: ignore[global-container-growth]").replace(
      "log.addHandler(logging.StreamHandler())",
      "log.addHandler(logging.StreamHandler())  # leakhound: ignore",
    );
    const wrongId = LEAKY.replace("_seen.append(request)", "_seen.append(request)  # leakhound: ignore[unbounded-cache]");
    const dir = project({
      "pyproject.toml": '[project]\nname = "x"\n\n[tool.leakhound]\ndisable = ["handler-per-call"]\nexclude = ["vendor", "gen/*.py"]\n',
      "a.py": suppressed,
      "b.py": wrongId,
      "vendor/lib.py": LEAKY,
      "gen/made.py": LEAKY,
    });
    const json = path.join(dir, "r.json");
    const res = await runCli(["lint", "--json", json, "--quiet", "."], { cwd: dir });
    expect(res.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(doc.disabled).toEqual(["handler-per-call"]);
    expect(doc.files).toBe(2);
    expect(doc.findings.map((f: any) => `${f.file}:${f.line} ${f.rule}`)).toEqual(["b.py:8 global-container-growth"]);
  });

  it("a file that does not parse is a note; the others are still linted", async () => {
    // A null byte: a note, not a failed run.
    const dir = project({ "bad.py": "def f(:\n    pass\n", "good.py": LEAKY, "nul.py": "x = 1\0\n" });
    // Debian's 3.11.2 raises the ValueError (it made the whole run fail before); pyenv's 3.11.7 a SyntaxError.
    const python = fs.existsSync("/usr/bin/python3") ? ["--python", "/usr/bin/python3"] : [];
    const res = await runCli(["lint", ...python, "."], { cwd: dir });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Not linted:\n {2}bad\.py: syntax error on line 1: .*\(not linted\)/);
    expect(res.stdout).toMatch(/\n {2}nul\.py: (cannot parse|syntax error): [^\n]*null bytes \(not linted\)/);
    expect(res.stdout).toMatch(/2 findings in 1 of 3 files .*; 2 files not linted/);
  });

  it("low confidence: left out and counted by default; shown with --confidence low or [tool.leakhound] confidence, as SARIF notes", async () => {
    // `remember()` is called from `process()`, which nothing says runs more than once per process.
    const setup = "import atexit\n\n\ndef remember(name):\n    atexit.register(print, name)\n\n\ndef process(items):\n    for item in items:\n        remember(item)\n";
    const dir = project({ "tool.py": setup });
    const quiet = await runCli(["lint", "--json", "d.json", "tool.py"], { cwd: dir });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/0 findings in 1 file .*; 1 finding of low confidence not shown \(--confidence low\)/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, "d.json"), "utf8"))).toMatchObject({ findings: [], confidence: "high", lowConfidence: 1 });
    const all = await runCli(["lint", "--confidence", "low", "--sarif", "l.sarif", "tool.py"], { cwd: dir });
    expect(all.stdout).toMatch(/^ {2}5:5 +handler-per-call {2}/m);
    expect(all.stdout).toMatch(/^ {10}low confidence: the only sign that its code runs many times is a call from another function/m);
    const sarif = JSON.parse(fs.readFileSync(path.join(dir, "l.sarif"), "utf8"));
    expect(sarifErrors(sarif)).toBeNull();
    expect(sarif.runs[0].results[0]).toMatchObject({ ruleId: "handler-per-call", level: "note", message: { text: expect.stringMatching(/\(Low confidence: .*\.\)$/) } });
    fs.writeFileSync(path.join(dir, "pyproject.toml"), '[tool.leakhound]\nconfidence = "low"\n');
    const configured = await runCli(["lint", "--json", "c.json", "--quiet", "tool.py"], { cwd: dir });
    expect(configured.code, configured.stderr).toBe(0);
    const doc = JSON.parse(fs.readFileSync(path.join(dir, "c.json"), "utf8"));
    expect(lintJsonErrors(doc)).toBeNull();
    expect(doc).toMatchObject({ confidence: "low", lowConfidence: 0, findings: [{ rule: "handler-per-call", confidence: "low" }] });
    const bad = await runCli(["lint", "--confidence", "some", "tool.py"], { cwd: dir });
    expect(bad.code).toBe(2);
    noStackTrace(bad.stderr);
  });

  it("a path that does not exist: one line, exit 2", async () => {
    const res = await runCli(["lint", "nope/"], { cwd: tempDir() });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("leakhound: cannot lint nope/: no such file or directory\n");
  });

  it("bad configuration or options: one line, exit 2", async () => {
    const dir = project({ "pyproject.toml": "[tool.leakhound\n", "a.py": LEAKY });
    const bad = await runCli(["lint", "."], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^leakhound: cannot read .*pyproject\.toml: .+\n$/);
    const dir2 = project({ "a.py": LEAKY });
    const unknown = await runCli(["lint", "--disable", "no-such-rule", "."], { cwd: dir2 });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^leakhound: unknown rule 'no-such-rule' in --disable \(rules: global-container-growth, .*\)\n$/);
    const dir3 = project({ "pyproject.toml": "[tool.leakhound]\ndisable = \"method-cache\"\n" });
    const notList = await runCli(["lint", "."], { cwd: dir3 });
    expect(notList.code).toBe(2);
    expect(notList.stderr).toMatch(/disable must be a list of strings/);
    const out = await runCli(["lint", "--json", path.join(dir2, "no-such-dir", "x.json"), "."], { cwd: dir2 });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^leakhound: cannot write --json .*: folder .* does not exist\n$/);
  });

  it("a Python that is missing (127) or too old (126): one line, no stack trace", async () => {
    const dir = project({ "a.py": LEAKY });
    const missing = await runCli(["lint", "--python", "/no/such/python3", "."], { cwd: dir });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toBe("leakhound: Python not found: /no/such/python3 (choose one with --python)\n");
    const old = findAllPythons().find((p) => !findPythons().some((q) => q.version === p.version));
    if (old) {
      const res = await runCli(["lint", "--python", old.path, "."], { cwd: dir });
      expect(res.code).toBe(126);
      expect(res.stderr).toBe(`leakhound: leakhound lint needs Python 3.8 or newer; ${old.path} is ${old.version}\n`);
      noStackTrace(res.stderr);
    }
  });

  it("splits many files over several workers and reports each file once", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 90; i++) files[`pkg/m${String(i).padStart(2, "0")}.py`] = i % 3 === 0 ? LEAKY : "x = 1\n";
    const dir = project(files);
    const json = path.join(dir, "r.json");
    const res = await runCli(["lint", "--jobs", "3", "--json", json, "--quiet", "pkg"], { cwd: dir });
    expect(res.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(doc.files).toBe(90);
    expect(doc.findings).toHaveLength(60);
    expect(new Set(doc.findings.map((f: any) => `${f.file}:${f.line}`)).size).toBe(60);
  });

  it("a worker that dies or answers garbage half-way through the files: one line, no stack trace", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`pkg/m${i}.py`] = "x = 1\n";
    const dir = project(files);
    // Stand-ins for Python that speak the first line of the stream protocol, then fail.
    const header = `echo '{"python": "3.11.0", "rules": []}'`;
    const dies = path.join(dir, "dies.sh");
    fs.writeFileSync(dies, `#!/bin/sh\n${header}\nread line; read line\necho 'MemoryError: boom' >&2\nexit 1\n`, { mode: 0o755 });
    const garbage = path.join(dir, "garbage.sh");
    fs.writeFileSync(garbage, `#!/bin/sh\n${header}\necho 'not json'\nexit 0\n`, { mode: 0o755 });
    const died = await runCli(["lint", "--python", dies, "--quiet", "pkg"], { cwd: dir });
    expect(died.code).toBe(125);
    expect(died.stderr).toBe(`leakhound: the linter failed in ${dies} (exit 1): MemoryError: boom\n`);
    const bad = await runCli(["lint", "--python", garbage, "--quiet", "pkg"], { cwd: dir });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe(`leakhound: the linter in ${garbage} gave no readable answer\n`);
  });

  it("a container trimmed from another module is not reported", async () => {
    const dir = project({
      "store.py": "_items = []\n\n\ndef add(request):\n    _items.append(request)\n",
      "admin.py": "import store\n\n\ndef reset():\n    store._items.clear()\n",
    });
    const json = path.join(dir, "r.json");
    await runCli(["lint", "--json", json, "--quiet", "."], { cwd: dir });
    expect(JSON.parse(fs.readFileSync(json, "utf8")).findings).toEqual([]);
    await runCli(["lint", "--json", json, "--quiet", "store.py"], { cwd: dir });
    expect(JSON.parse(fs.readFileSync(json, "utf8")).findings).toHaveLength(1);
  });

  it("tells to make a class-level container each object's own when methods grow it through self", async () => {
    const dir = project({
      "views.py": "class Feed:\n    seen = []\n\n    def on_post(self, request):\n        self.seen.append(request.author)\n",
    });
    const json = path.join(dir, "r.json");
    await runCli(["lint", "--json", json, "--quiet", "."], { cwd: dir });
    const [finding] = JSON.parse(fs.readFileSync(json, "utf8")).findings;
    expect(finding).toMatchObject({ rule: "global-container-growth", line: 5, container: "Feed.seen" });
    expect(finding.fix).toBe("`Feed.seen` is one list shared by every instance for the life of the process: make it each object's own (`self.seen = []` in `__init__`) or a local of the call, or bound it.");
  });

  it("in a folder of projects, each project's trims and per-call evidence are its own; two paths of one project share theirs", async () => {
    const grows = "jobs = {}\n\n\ndef submit(request):\n    jobs[request.id] = request\n";
    const dir = project({
      "a/setup.py": "",
      "a/worker.py": grows,
      "b/pyproject.toml": "",
      "b/queue.py": "class Q:\n    def done(self, k):\n        self.jobs.pop(k)\n",
      "c/lib/conn.py": "import atexit\n\n\nclass Conn:\n    def __init__(self):\n        atexit.register(self.close)\n\n    def close(self):\n        pass\n",
      "c/app/views.py": "from conn import Conn\n\n\ndef handle(request):\n    return Conn(), request\n",
      "d/.git/HEAD": "",
      "d/views.py": "from conn import Conn\n\n\ndef handle(request):\n    return Conn(), request\n",
      "e/setup.py": "",
      "e/lib/conn.py": "import atexit\n\n\nclass Conn:\n    def __init__(self):\n        atexit.register(self.close)\n\n    def close(self):\n        pass\n",
    });
    const json = path.join(dir, "r.json");
    const found = async (...paths: string[]) => {
      const res = await runCli(["lint", "--json", json, "--quiet", ...paths], { cwd: dir });
      expect(res.code).toBe(0);
      return JSON.parse(fs.readFileSync(json, "utf8")).findings.map((f: { file: string; rule: string }) => `${f.file} ${f.rule}`).sort();
    };
    // b's `self.jobs.pop()` is another project's: a's table is still reported. d makes its own
    // Conn per request, which says nothing of e's Conn; c (no marker) has its own evidence.
    expect(await found(".")).toEqual([`${path.join("a", "worker.py")} global-container-growth`, `${path.join("c", "lib", "conn.py")} handler-per-call`]);
    // Without the markers, the folder is one project, as before.
    fs.rmSync(path.join(dir, "a", "setup.py"));
    fs.rmSync(path.join(dir, "b", "pyproject.toml"));
    expect(await found("a", "b")).toEqual([]); // the trim in b counts for a's table now: maybe the same container
    // Two paths given inside one project share its evidence: app makes lib's Conn per request.
    fs.writeFileSync(path.join(dir, "c", "setup.cfg"), "");
    expect(await found(path.join("c", "lib"), path.join("c", "app"))).toEqual([`${path.join("c", "lib", "conn.py")} handler-per-call`]);
  });

  it("below site-packages or dist-packages, each installed distribution is a project of its own, whatever the path given", async () => {
    const adds = "import logging\n\n\ndef console_logging(name):\n    logging.getLogger(name).addHandler(logging.StreamHandler())\n";
    const calls = "from helpers import *\n\n\ndef handle(request):\n    console_logging(request.user)\n";
    const dir = project({
      "plain/liba/log.py": adds,
      "plain/libb/views.py": calls,
      "venv/lib/python3.11/site-packages/liba/log.py": adds,
      "venv/lib/python3.11/site-packages/libb/views.py": calls,
      "usr/lib/python3/dist-packages/liba/log.py": adds,
      "usr/lib/python3/dist-packages/libb/views.py": calls,
    });
    const json = path.join(dir, "r.json");
    const found = async (...paths: string[]) => {
      const res = await runCli(["lint", "--json", json, "--quiet", "--confidence", "low", ...paths], { cwd: dir });
      expect(res.code).toBe(0);
      return JSON.parse(fs.readFileSync(json, "utf8")).findings.map((f: { file: string; rule: string }) => `${f.file} ${f.rule}`);
    };
    // One unmarked folder is one project: libb's bare call is evidence for liba's function.
    expect(await found("plain")).toEqual([`${path.join("plain", "liba", "log.py")} handler-per-call`]);
    // Installed, they are two projects: another distribution's call of a function of that name says nothing.
    expect(await found("venv")).toEqual([]);
    expect(await found(path.join("usr", "lib", "python3"))).toEqual([]);
    expect(await found(path.join("usr", "lib", "python3", "dist-packages", "liba"), path.join("usr", "lib", "python3", "dist-packages", "libb"))).toEqual([]);
  });

  it("skips test code found under a folder unless --include-tests, its resets too; a test file named on the command line is linted", async () => {
    const grows = (name: string) => `${name} = []\n\n\ndef add(request):\n    ${name}.append(request)\n`;
    const dir = project({
      "pkg/store.py": grows("_items"),
      "pkg/tests/helpers.py": grows("_calls"),
      "pkg/test_store.py": grows("_calls"),
      "pkg/conftest.py": "import store\n\n\ndef reset():\n    try: del store._items[:]\n    finally: pass\n",
      "pkg/other.py": "_cache = []\n\n\ndef put(request):\n    _cache.append(request)\n",
      "tests/test_other.py": "import other\n\n\ndef teardown():\n    other._cache.clear()\n",
    });
    const json = path.join(dir, "r.json");
    const run = async (...args: string[]) => {
      const res = await runCli(["lint", "--json", json, "--quiet", ...args], { cwd: dir });
      expect(res.code).toBe(0);
      const doc = JSON.parse(fs.readFileSync(json, "utf8"));
      expect(lintJsonErrors(doc)).toBeNull();
      return doc as { files: number; testFiles: number; findings: { file: string }[] };
    };
    // The resets in conftest.py and tests/test_other.py isolate tests; they bound nothing in the program.
    let doc = await run(".");
    expect([doc.files, doc.testFiles]).toEqual([2, 4]);
    expect(doc.findings.map((f) => f.file).sort()).toEqual([path.join("pkg", "other.py"), path.join("pkg", "store.py")]);
    doc = await run("pkg");
    expect([doc.files, doc.testFiles]).toEqual([2, 3]);
    expect(doc.findings.map((f) => f.file).sort()).toEqual([path.join("pkg", "other.py"), path.join("pkg", "store.py")]);
    // Linted, conftest.py's `del store._items[:]` is a trim like any other file's.
    doc = await run("--include-tests", "pkg");
    expect(doc.testFiles).toBe(0);
    expect(doc.findings.map((f) => f.file).sort()).toEqual([path.join("pkg", "other.py"), path.join("pkg", "test_store.py"), path.join("pkg", "tests", "helpers.py")]);
    doc = await run(path.join("pkg", "test_store.py"));
    expect([doc.files, doc.testFiles, doc.findings.length]).toEqual([1, 0, 1]);
    const res = await runCli(["lint", "pkg"], { cwd: dir });
    expect(res.stdout).toMatch(/3 test files skipped \(--include-tests\)/);
  });

  it("a finding in an example, sample, demo or maintenance script, an importer, a scraper or a benchmark (by its folder below the path given) is of low confidence; a script named on the command line is not", async () => {
    const grows = (name: string) => `${name} = []\n\n\ndef add(request):\n    ${name}.append(request)\n`;
    const dir = project({
      "pkg/store.py": grows("_items"),
      "examples/chat/run_ui.py": grows("_messages"),
      "docs/Samples/howto.py": grows("_seen"),
      "pkg/sampler.py": grows("_picked"), // a file named like a sample is the product's
      "scripts/import_rows.py": grows("_log_bits"),
      "app/importers/suppliers.py": grows("_suppliers"), // reads one file into the database per run
      "scrapers/ar/bills.py": grows("_sponsors"), // one crawl per run
      "tools/benchmarks/serving.py": grows("_latencies"), // one load test per run
      "scripts/bench.py": "import gc\n\n\ndef run(rows):\n    gc.disable()\n    return list(rows)\n",
    });
    const json = path.join(dir, "r.json");
    const findings = async (...args: string[]) => {
      const res = await runCli(["lint", "--json", json, "--quiet", ...args], { cwd: dir });
      expect(res.code).toBe(0);
      const doc = JSON.parse(fs.readFileSync(json, "utf8"));
      expect(lintJsonErrors(doc)).toBeNull();
      return doc.findings.map((f: { file: string; confidence: string; lowBecause?: string }) => [f.file, f.confidence, f.lowBecause ?? ""]);
    };
    const example = expect.stringMatching(/example, sample, demo or documentation folder/);
    expect(await findings("--confidence", "low", ".")).toEqual([
      [path.join("app", "importers", "suppliers.py"), "low", expect.stringMatching(/importers folder: code that reads one input/)],
      [path.join("docs", "Samples", "howto.py"), "low", example],
      [path.join("examples", "chat", "run_ui.py"), "low", example],
      [path.join("pkg", "sampler.py"), "high", ""],
      [path.join("pkg", "store.py"), "high", ""],
      [path.join("scrapers", "ar", "bills.py"), "low", expect.stringMatching(/scrapers or spiders folder: a scraper runs for one crawl/)],
      // A collector switched off once is off for the whole run: that finding keeps its confidence.
      [path.join("scripts", "bench.py"), "high", ""],
      [path.join("scripts", "import_rows.py"), "low", expect.stringMatching(/scripts folder: a maintenance, build or import script/)],
      [path.join("tools", "benchmarks", "serving.py"), "low", expect.stringMatching(/benchmarks folder: a benchmark runs a fixed workload/)],
    ]);
    expect((await findings(".")).map((f: string[]) => f[0])).toEqual([path.join("pkg", "sampler.py"), path.join("pkg", "store.py"), path.join("scripts", "bench.py")]);
    // Given as the folder to lint, an examples folder is the user's code.
    expect(await findings("examples")).toEqual([[path.join("examples", "chat", "run_ui.py"), "high", ""]]);
  });

  it("a registration in a constructor stands only with evidence, from the same path given, that the class is made per call", async () => {
    const dir = project({
      "lib/conn.py": "import atexit\n\n\nclass Conn:\n    def __init__(self):\n        atexit.register(self.close)\n\n    def close(self):\n        pass\n",
      "app/views.py": "from conn import Conn\n\n\ndef handle(request):\n    return Conn(), request\n",
    });
    const json = path.join(dir, "r.json");
    const rules = async (...paths: string[]) => {
      await runCli(["lint", "--json", json, "--quiet", ...paths], { cwd: dir });
      return JSON.parse(fs.readFileSync(json, "utf8")).findings.map((f: { file: string; rule: string }) => `${f.file} ${f.rule}`);
    };
    expect(await rules(".")).toEqual([`${path.join("lib", "conn.py")} handler-per-call`]);
    expect(await rules("lib")).toEqual([]); // nothing in lib makes a Conn
    expect(await rules("lib", "app")).toEqual([]); // app is another project
    // For a runtime link the leak is the evidence: the finding is kept, marked unproven.
    const res = await lint({ paths: [path.join(dir, "lib", "conn.py")], python: "python3", requireEvidence: false, cwd: dir });
    expect(res.findings.map((f) => [f.file, f.rule, f.unproven])).toEqual([[path.join("lib", "conn.py"), "handler-per-call", true]]);
  });
});
