// `leakhound lint`: check the outputs can be written, lint, then print the
// report (or GitHub annotations) and write the JSON and SARIF files.
import path from "node:path";
import { VERSION } from "../version.js";
import { analyzeCaptureFile } from "./report-command.js";
import { linkFindings, rankByRuntime } from "../lint/runtime-link.js";
import { EXIT } from "./exit-codes.js";
import { checkOutputPaths } from "./outputs.js";
import type { LintOptions } from "./commands.js";
import { lint } from "../lint/run.js";
import { renderLintTerminal } from "../lint/terminal.js";
import { writeLintJson } from "../lint/json.js";
import { lintCiFindings, lintCiRules } from "../lint/ci.js";
import { writeSarif } from "../report/sarif.js";
import { githubAnnotations } from "../report/github.js";

export async function lintCommand(paths: string[], opts: LintOptions): Promise<number> {
  checkOutputPaths([
    { option: "--json", file: opts.json },
    { option: "--sarif", file: opts.sarif },
  ]);
  const report = opts.capture ? analyzeCaptureFile(opts.capture) : null; // a bad capture fails before linting
  // With a capture, a finding without static evidence that its code runs many times still counts when
  // one of the run's leaks is there: the leak is that evidence.
  const result = await lint({ paths, python: opts.python, exclude: opts.exclude, disable: opts.disable, jobs: opts.jobs, includeTests: opts.includeTests, requireEvidence: !report, confidence: opts.confidence });
  if (report && opts.capture) {
    const links = linkFindings(result.findings, report);
    const linked = result.findings.map((f, i) => ({ ...f, runtime: links[i] ?? null })).filter((f) => !f.unproven || f.runtime);
    // A leak of the run at the finding is the evidence a finding of low confidence lacked.
    result.findings = rankByRuntime(linked.map(({ unproven: _, lowBecause, ...f }) => (f.runtime ? { ...f, confidence: "high" as const } : { ...f, ...(lowBecause ? { lowBecause } : {}) })));
    result.capture = path.resolve(opts.capture);
  }
  if (opts.github) {
    const titles = new Map(result.rules.map((r) => [r.id, r.title]));
    process.stdout.write(githubAnnotations(lintCiFindings(result), (f) => `leakhound ${f.ruleId}: ${titles.get(f.ruleId) ?? "file not linted"}`));
  } else if (!opts.quiet) {
    process.stdout.write(renderLintTerminal(result, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }));
  }
  let ok = true;
  const write = (what: string, file: string | undefined, fn: (f: string) => void) => {
    if (!file) return;
    try {
      fn(file);
    } catch (err) {
      ok = false;
      process.stderr.write(`leakhound: cannot write the ${what} file ${file}: ${(err as Error).message}\n`);
    }
  };
  write("JSON", opts.json, (f) => writeLintJson(result, f));
  write("SARIF", opts.sarif, (f) => writeSarif(f, { name: "leakhound", version: VERSION }, lintCiRules(result), lintCiFindings(result)));
  if (!ok) return EXIT.usage;
  return opts.failOnFindings && result.findings.length > 0 ? EXIT.leakFound : 0;
}
