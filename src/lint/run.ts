// `leakhound lint` end to end, without output: find the files, hand them out
// largest first to one Python worker per core (each takes the next when it is done), and
// drop findings about a container that another file of the project trims (`mod._cache.clear()`), and findings
// that need evidence that their code runs many times (a class made, a function called, per call) when no
// file of the project has it (projects.ts tells projects apart).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { filesOfKind, findPythonFiles, oneOffKind, testFiles } from "./files.js";
import { findPyproject, readConfig } from "./config.js";
import { projectOf } from "./projects.js";
import { ProjectEvidence, WEAK_EVIDENCE, strongAlternative } from "./evidence.js";
import { runWorker, runWorkers, type WorkerAnswer } from "./python.js";
import type { Confidence, LintFinding, LintNote, LintResult } from "./model.js";
import { EXIT, UserError } from "../errors.js";

export interface LintOptions {
  paths: string[];
  python: string;
  /** Extra excludes from the command line (globs). */
  exclude?: string[];
  /** Extra rules to switch off from the command line. */
  disable?: string[];
  /** Lint test code too (test_*.py, conftest.py, files under test/, tests/, testing/ below a given
   *  folder); by default it is skipped: it runs once per test run, and its resets (a fixture's
   *  `cache.clear()`) isolate tests, they bound nothing in the program. */
  includeTests?: boolean;
  /** False: keep the findings that lack static evidence that their code runs many times, marked
   *  `unproven` (for a runtime link, where the leak itself is that evidence). Default true: drop them. */
  requireEvidence?: boolean;
  /** The lowest confidence to report: "high" (default) or "low" (see LintFinding.confidence). */
  confidence?: Confidence;
  /** Workers; default: one per core, fewer for few files. */
  jobs?: number;
  cwd?: string;
}

/** At least this many files per worker: a Python start costs ~20 ms. */
const FILES_PER_WORKER = 40;

/** The files, largest first (so the last ones the workers take are the small ones). */
export function largestFirst(files: string[]): string[] {
  const sized = files.map((f) => {
    let size = 0;
    try {
      size = fs.statSync(f).size;
    } catch {
      /* the worker reports it */
    }
    return { f, size };
  });
  sized.sort((a, b) => b.size - a.size || a.f.localeCompare(b.f));
  return sized.map((s) => s.f);
}

/** A path as the user reads it: relative when under the working directory. */
export function displayPath(file: string, cwd: string): string {
  const abs = path.resolve(cwd, file);
  const rel = path.relative(cwd, abs);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : abs;
}

/** Why a finding in code that runs once over fixed input (see oneOffKind) is of low confidence. */
export const ONE_OFF: Record<NonNullable<ReturnType<typeof oneOffKind>>, string> = {
  example: "it is in an example, sample, demo or documentation folder: a script that shows how to use the code and runs once over fixed input",
  script: "it is in a scripts folder: a maintenance, build or import script that runs once over its input",
  importer: "it is in an importers folder: code that reads one input (a file, a dump) into the program, so what it keeps is bounded by that input",
  scraper: "it is in a scrapers or spiders folder: a scraper runs for one crawl and exits, so what it caches is bounded by that crawl",
  benchmark: "it is in a benchmarks folder: a benchmark runs a fixed workload (a load test's requests) and exits, so what it keeps is bounded by that run",
};

/** Rules whose finding is about a container another file might trim. */
const CONTAINER_RULES = new Set(["global-container-growth", "singleton-container-growth", "unbounded-cache", "cleanup-skipped", "thread-local-growth", "stored-exception"]);

export async function lint(opts: LintOptions): Promise<LintResult> {
  const started = Date.now();
  const cwd = opts.cwd ?? process.cwd();
  // The pyproject.toml that applies: the nearest one above the first path (or the working directory).
  const first = opts.paths.length ? path.resolve(cwd, opts.paths[0]!) : cwd;
  const pyproject = findPyproject(fs.existsSync(first) && fs.statSync(first).isDirectory() ? first : path.dirname(first));
  const config = readConfig(pyproject);
  const root = pyproject ? path.dirname(pyproject) : cwd;
  const files = findPythonFiles(opts.paths, cwd, [...config.exclude, ...(opts.exclude ?? [])], root);
  const disabled = [...new Set([...config.disable, ...(opts.disable ?? [])])];
  const confidence: Confidence = opts.confidence ?? config.confidence ?? "high";
  const tests = opts.includeTests ? new Set<string>() : testFiles(files, opts.paths, cwd);
  const oneOff = filesOfKind(files, opts.paths, cwd, oneOffKind);

  // Always ask for the rule table, so unknown rule ids in the configuration are caught even with no files.
  const linted = files.filter((f) => !tests.has(f));
  const workers = Math.max(1, Math.min(opts.jobs ?? os.availableParallelism(), Math.ceil(linted.length / FILES_PER_WORKER)));
  const answers: WorkerAnswer[] = linted.length
    ? [await runWorkers(opts.python, largestFirst(linted), disabled, workers)]
    : [await runWorker(opts.python, ["--rules"], null)];
  const rules = answers[0]!.rules;
  const unknown = disabled.filter((id) => !rules.some((r) => r.id === id));
  if (unknown.length) {
    throw new UserError(`unknown rule ${unknown.map((u) => `'${u}'`).join(", ")} in ${pyproject && config.disable.some((d) => unknown.includes(d)) ? pyproject : "--disable"} (rules: ${rules.map((r) => r.id).join(", ")})`, EXIT.usage);
  }

  // The evidence matched by name across files counts within one project (projects.ts): a trim
  // (`x.NAME.clear()`) or a class made per call in an unrelated checkout is about other code.
  // Where no marker tells projects apart, the paths given are the projects for the evidence that
  // code runs per call (`Config` means other things elsewhere), but a trim anywhere counts: it may
  // be this very container, and a false alarm costs more than a missed finding.
  const projectOfFile = projectOf(opts.paths.map((p) => path.resolve(cwd, p)));
  const scopes = new Map<string, { trims: string; made: string }>();
  // trims scope -> name -> how many of its files trim something of that name
  const trimmedIn = new Map<string, Map<string, number>>();
  const evidenceIn = new Map<string, ProjectEvidence>();
  for (const f of answers.flatMap((a) => a.files)) {
    const { folder, marked } = projectOfFile(path.resolve(cwd, f.file));
    const scope = { trims: marked ? folder : "", made: folder };
    scopes.set(f.file, scope);
    let trims = trimmedIn.get(scope.trims);
    if (!trims) trimmedIn.set(scope.trims, (trims = new Map()));
    for (const n of f.shrunk) trims.set(n, (trims.get(n) ?? 0) + 1);
    let evidence = evidenceIn.get(scope.made);
    if (!evidence) evidenceIn.set(scope.made, (evidence = new ProjectEvidence(scope.made)));
    // An object a one-off script makes once (an example's, a tutorial's) lives only as long as that
    // script's run, unless the script runs until it is stopped (a server example: "serves:").
    const made = f.made ?? [];
    evidence.add(oneOff.has(f.file) && !made.includes("serves:") ? made.filter((n) => !n.startsWith("once:")) : made, path.resolve(cwd, f.file));
  }
  for (const evidence of evidenceIn.values()) evidence.finish();
  const findings: LintFinding[] = [];
  const notes: LintNote[] = [];
  let lines = 0;
  let lowLeftOut = 0;
  for (const a of answers) {
    for (const f of a.files) {
      lines += f.lines;
      const file = displayPath(f.file, cwd);
      if (f.error) notes.push({ file, message: f.error });
      if (!f.findings.length) continue;
      const scope = scopes.get(f.file)!;
      // What this file's findings ask of the project's evidence (its module names, its own definitions).
      const evidence = evidenceIn.get(scope.made)!;
      const has = evidence.lookup(f.file, f.made ?? []);
      for (const raw of f.findings) {
        // Another file trims something of this name (`mod.NAME.clear()`, `del x.NAME[k]`): maybe this very container.
        const name = raw.container?.split(".").pop();
        if (CONTAINER_RULES.has(raw.rule) && name && (trimmedIn.get(scope.trims)?.get(name) ?? 0) > (f.shrunk.includes(name) ? 1 : 0)) continue;
        // Code that no linted file runs per call (a command's main, a service made once): once per process, as far as we can see.
        const { needs, weak, ...finding } = raw;
        const met = needs && evidence.met(needs, has);
        const proven = !needs || met!.length > 0;
        if (!proven && opts.requireEvidence !== false) continue;
        // Running once bounds what piles up per call; a collector switched off once is off for the whole run.
        const kind = raw.rule === "gc-disabled" ? undefined : oneOff.get(f.file);
        const lowBecause = (kind && ONE_OFF[kind]) ?? weak ?? (needs && !met!.some((all) => strongAlternative(all, has)) ? WEAK_EVIDENCE : undefined);
        const rated: LintFinding = lowBecause ? { ...finding, file, confidence: "low", lowBecause } : { ...finding, file, confidence: "high" };
        // Low confidence: left out unless asked for, or unless a run's leak may confirm it (like an unproven one).
        const wanted = confidence === "low" || !lowBecause;
        if (!wanted && opts.requireEvidence !== false) {
          lowLeftOut++;
          continue;
        }
        findings.push(proven && wanted ? rated : { ...rated, unproven: true });
      }
    }
  }
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule));
  notes.sort((a, b) => a.file.localeCompare(b.file));
  return {
    python: { path: opts.python, version: answers[0]!.python },
    rules,
    findings,
    notes,
    files: files.length - tests.size,
    lines,
    testFiles: tests.size,
    disabled,
    confidence,
    lowConfidence: lowLeftOut,
    durationSec: (Date.now() - started) / 1000,
  };
}
