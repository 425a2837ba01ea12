// The Python files to lint: every path given (a file is taken as is, a folder is
// walked for *.py), less the excluded ones. Folders that never hold the user's
// own code (VCS, caches, virtual environments) are skipped while walking.
import fs from "node:fs";
import path from "node:path";
import { EXIT, UserError } from "../errors.js";

const SKIP_DIRS = new Set([".git", ".hg", ".svn", "__pycache__", "node_modules", ".tox", ".nox", ".venv", "venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", ".eggs"]);

/** A glob (`*`, `**`, `?`) as a RegExp over '/'-separated relative paths; a pattern without '/' matches any path component. */
export function globToRegExp(glob: string): RegExp {
  let g = glob.replace(/\\/g, "/").replace(/\/+$/, "");
  const anchored = g.includes("/");
  g = g.replace(/^\.\//, "");
  let re = "";
  for (let i = 0; i < g.length; i++) {
    const ch = g[i]!;
    if (ch === "*" && g[i + 1] === "*") {
      re += g[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += g[i + 2] === "/" ? 2 : 1;
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  // A folder pattern also matches everything under it.
  return new RegExp(anchored ? `^${re}(?:/.*)?$` : `(?:^|/)${re}(?:/.*)?$`);
}

// `pytest` below the folder given: a project's pytest plugin and fixtures (nextgisweb/pytest/); a
// `testsuite` folder: a test harness's library, run in a process per test (asterisk/testsuite/lib/).
const TEST_DIRS = new Set(["test", "tests", "testing", "pytest", "testsuite", "testsuites", "test_suite", "test_suites"]);
// unit_tests, integration_tests, tests_with_db, test_utils, testing_helpers, end_to_end_test, perf_test.
const TEST_DIR = /^(?:\w+_tests|tests_\w+|(?:tests?|testing)_(?:utils?|utilities|helpers?|support|tools|lib|common|fixtures|data)|(?:unit|integration|functional|e2e|end_to_end|system|acceptance|perf|performance|smoke|regression|load|stress)_test)$/;
// `test.py`: a module for tests only (a monitor that keeps what it is sent, for assertions).
const TEST_FILE = /^(?:test_.*|.*_test|tests?|conftest)\.py$/;
// `app_testing` (or `app_test`): test support for a package `app` when one sits beside it.
const TEST_SUPPORT = /^(\w+?)_(?:testing|test)$/;

/** Test code, by its path below the folder given to lint ('/'-separated): a file named test_*.py,
 *  *_test.py, test.py, tests.py or conftest.py, or one under a folder named test, tests, testing, pytest or testsuite, or like
 *  unit_tests, tests_with_db, test_utils, e2e_test; behave's `features/steps/` and `features/environment.py`; or one under a package's test support package
 *  (`app_testing` beside `app`), when `folders` (every folder below the one given) is known. */
export function isTestPath(rel: string, folders?: Set<string>): boolean {
  const parts = rel.split(path.sep).join("/").split("/");
  if (TEST_FILE.test(parts[parts.length - 1]!)) return true;
  // behave's scenarios: `features/steps/*.py` and `features/environment.py`.
  if (parts[parts.length - 1] === "environment.py" && parts[parts.length - 2] === "features") return true;
  return parts.slice(0, -1).some((d, i) => {
    if (TEST_DIRS.has(d) || TEST_DIR.test(d.toLowerCase()) || (d === "steps" && parts[i - 1] === "features")) return true;
    const pkg = TEST_SUPPORT.exec(d);
    return Boolean(pkg && folders?.has([...parts.slice(0, i), pkg[1]].join("/")));
  });
}

const EXAMPLE_DIRS = new Set(["example", "examples", "sample", "samples", "demo", "demos", "tutorial", "tutorials", "docs", "doc", "cookbook"]);
const SCRIPT_DIRS = new Set(["script", "scripts"]);
const IMPORTER_DIRS = new Set(["importer", "importers"]);
const SCRAPER_DIRS = new Set(["scraper", "scrapers", "spider", "spiders"]);
const BENCHMARK_DIRS = new Set(["bench", "benches", "benchmark", "benchmarks"]);

/** Code that runs once over fixed input, by a folder on its path below the folder given to lint:
 *  "example" for an example, sample, demo or documentation script (it shows how to use the code),
 *  "script" for one under a scripts folder (a maintenance, build or import script), "importer" for
 *  one under an importers folder (it reads one input, a file or a dump, into the program), "scraper"
 *  for one under a scrapers or spiders folder (it runs for one crawl and exits), "benchmark" for one
 *  under a bench or benchmarks folder (it runs a fixed workload, often a load test's requests, and
 *  reports on what it kept); else null. */
export function oneOffKind(rel: string): "example" | "script" | "importer" | "scraper" | "benchmark" | null {
  const dirs = rel.split(path.sep).join("/").split("/").slice(0, -1).map((d) => d.toLowerCase());
  if (dirs.some((d) => EXAMPLE_DIRS.has(d))) return "example";
  if (dirs.some((d) => SCRIPT_DIRS.has(d))) return "script";
  if (dirs.some((d) => IMPORTER_DIRS.has(d))) return "importer";
  if (dirs.some((d) => SCRAPER_DIRS.has(d))) return "scraper";
  if (dirs.some((d) => BENCHMARK_DIRS.has(d))) return "benchmark";
  return null;
}

/** The files found under the given folders that `kind` tells apart by their path below that folder
 *  (test code, one-off scripts), each with what it is; a file named on the command line never is. */
export function filesOfKind<K>(files: string[], paths: string[], cwd: string, kind: (rel: string) => K | null): Map<string, K> {
  const dirs = paths.map((p) => path.resolve(cwd, p)).filter((p) => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  });
  const given = new Set(paths.map((p) => path.resolve(cwd, p)));
  const out = new Map<string, K>();
  for (const f of files) {
    if (given.has(f)) continue;
    const under = dirs.filter((d) => f.startsWith(d.endsWith(path.sep) ? d : d + path.sep)).sort((a, b) => b.length - a.length)[0];
    const k = under === undefined ? null : kind(path.relative(under, f));
    if (k !== null) out.set(f, k);
  }
  return out;
}

/** The files found under the given folders that are test code (by their path below that folder). */
export function testFiles(files: string[], paths: string[], cwd: string): Set<string> {
  // Every folder of a linted file, by its path below each folder given.
  const folders = new Set<string>();
  const roots = paths.map((p) => path.resolve(cwd, p));
  for (const f of files) {
    for (const r of roots) {
      const rel = path.relative(r, path.dirname(f));
      if (rel.startsWith("..") || path.isAbsolute(rel)) continue;
      const parts = rel ? rel.split(path.sep) : [];
      for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join("/"));
    }
  }
  return new Set(filesOfKind(files, paths, cwd, (rel) => (isTestPath(rel, folders) ? true : null)).keys());
}

export function isExcluded(relPath: string, patterns: RegExp[]): boolean {
  const p = relPath.split(path.sep).join("/");
  return patterns.some((re) => re.test(p));
}

/** Every .py file under the given paths, sorted, each once. Throws a UserError (exit 2) for a path that does not exist. */
export function findPythonFiles(paths: string[], cwd: string, exclude: string[], root: string): string[] {
  const patterns = exclude.map(globToRegExp);
  const out = new Set<string>();
  const rel = (p: string) => path.relative(root, path.resolve(p)) || ".";
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // an unreadable folder below the given one: skipped
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith(".") && !isExcluded(rel(p), patterns)) walk(p);
      } else if ((e.isFile() || e.isSymbolicLink()) && e.name.endsWith(".py") && !isExcluded(rel(p), patterns)) {
        out.add(p);
      }
    }
  };
  for (const given of paths) {
    const abs = path.resolve(cwd, given);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UserError(`cannot lint ${given}: ${code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : (err as Error).message}`, EXIT.usage);
    }
    if (st.isDirectory()) walk(abs);
    else out.add(abs); // a file named on the command line is linted whatever its name or the excludes
  }
  return [...out].sort();
}
