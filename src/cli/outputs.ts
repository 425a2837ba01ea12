// Output files: checked before anything starts, written everywhere the user asked
// at the end (terminal, JSON, HTML). A file that still cannot be written at the
// end costs one `leakhound:` line, never the exit code.
import fs from "node:fs";
import path from "node:path";
import { renderTerminal } from "../report/terminal.js";
import { LEAK_RULES, leakFindings, markdownSummary } from "../report/ci-leaks.js";
import { githubAnnotations } from "../report/github.js";
import { writeJunit } from "../report/junit.js";
import { writeSarif } from "../report/sarif.js";
import { VERSION } from "../version.js";

const TOOL = { name: "leakhound", version: VERSION };
import { writeJsonReport } from "../report/json.js";
import { writeHtmlReport } from "../report/html-output.js";
import type { Report } from "../report/model.js";
import { EXIT, UserError } from "./exit-codes.js";

export interface OutputOptions {
  json?: string;
  html?: string;
  /** CI outputs (run, attach, report). */
  sarif?: string;
  junit?: string;
  github?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  /** Where the text report goes: stderr for `run` (stdout is the target's), stdout for `report`. */
  stream: NodeJS.WriteStream;
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "EACCES" || e?.code === "EPERM") return "permission denied";
  if (e?.code === "ENOENT") return "no such file or directory";
  if (e?.code === "EISDIR") return "is a directory";
  if (e?.code === "EROFS") return "read-only file system";
  if (e?.code === "ENOSPC") return "no space left on device";
  return e?.message ?? String(err);
}

/**
 * Checks that every output path can be written, before the target starts: the
 * path is not a directory, its folder exists, and the file (or, for a new file,
 * its folder) is writable; and no two outputs are the same file. Throws a
 * UserError (exit 2) naming the option.
 */
export function checkOutputPaths(outputs: { option: string; file: string | undefined }[]): void {
  const seen = new Map<string, string>();
  for (const { option, file } of outputs) {
    if (file === undefined) continue;
    const bad = (why: string) => new UserError(`cannot write ${option} ${file}: ${why}`, EXIT.usage);
    if (file === "") throw bad("empty path");
    const abs = path.resolve(file);
    const other = seen.get(abs);
    if (other) throw bad(`the same file as ${other}`);
    seen.set(abs, option);
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw bad(errnoText(err));
    }
    if (st?.isDirectory()) throw bad("it is a directory");
    const dir = path.dirname(abs);
    let dirSt: fs.Stats;
    try {
      dirSt = fs.statSync(dir);
    } catch (err) {
      throw bad((err as NodeJS.ErrnoException).code === "ENOENT" ? `folder ${dir} does not exist` : errnoText(err));
    }
    if (!dirSt.isDirectory()) throw bad(`${dir} is not a folder`);
    try {
      fs.accessSync(st ? abs : dir, fs.constants.W_OK);
    } catch (err) {
      throw bad(st ? errnoText(err) : `folder ${dir}: ${errnoText(err)}`);
    }
  }
}

/**
 * Prints the terminal report and writes the JSON and HTML files. A file that
 * cannot be written is reported on one `leakhound:` line (on stderr) and the
 * others are still written; returns false when any failed.
 */
export function writeOutputs(report: Report, opts: OutputOptions): boolean {
  if (!opts.quiet) {
    opts.stream.write(renderTerminal(report, { color: Boolean(opts.stream.isTTY) && !process.env.NO_COLOR, cwd: process.cwd(), verbose: opts.verbose }));
  }
  let ok = true;
  const write = (what: string, file: string | undefined, fn: (r: Report, f: string) => void) => {
    if (!file) return;
    try {
      fn(report, file);
    } catch (err) {
      ok = false;
      process.stderr.write(`leakhound: cannot write the ${what} report to ${file}: ${errnoText(err)}\n`);
    }
  };
  write("JSON", opts.json, writeJsonReport);
  write("HTML", opts.html, writeHtmlReport);
  write("SARIF", opts.sarif, (r, f) => writeSarif(f, TOOL, LEAK_RULES, leakFindings(r)));
  write("JUnit", opts.junit, writeJunit);
  if (opts.github) {
    // Workflow commands are read from stdout; the job summary is a file GitHub names.
    process.stdout.write(githubAnnotations(leakFindings(report), (f) => (f.ruleId === "native-leak" ? "Native memory leak" : "Memory leak")));
    const summary = process.env.GITHUB_STEP_SUMMARY;
    if (summary) write("job summary", summary, (r, f) => fs.appendFileSync(f, markdownSummary(r)));
  }
  return ok;
}
