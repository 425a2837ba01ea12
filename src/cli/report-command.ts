// `leakhound report capture.lhdb`: re-analyse a saved capture, offline.
import path from "node:path";
import { CaptureError, readCapture } from "../capture/store.js";
import { analyze } from "../analysis/analyze.js";
import { VERSION } from "../version.js";
import type { ReportOptions } from "./commands.js";
import { EXIT, UserError, decideExitCode } from "./exit-codes.js";
import { checkOutputPaths, writeOutputs } from "./outputs.js";
import type { Report } from "../report/model.js";
import { addLeakCauses } from "../lint/leak-causes.js";

/** --lint: the lint findings beside the leaks they explain; a linter that cannot run costs one line, not the report. */
export async function lintCauses(report: Report): Promise<void> {
  try {
    await addLeakCauses(report);
  } catch (err) {
    process.stderr.write(`leakhound: --lint: ${err instanceof UserError ? err.message : (err as Error).message}\n`);
  }
}


/** Reads and analyses a capture; whatever stops it from being read is exit 4, in one line (also `lint --capture`). */
export function analyzeCaptureFile(file: string): Report {
  const capturePath = path.resolve(file);
  let capture;
  try {
    capture = readCapture(capturePath);
  } catch (err) {
    if (err instanceof CaptureError) throw new UserError(err.message, EXIT.badCapture);
    const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new UserError(`cannot read ${capturePath}: ${msg}`, EXIT.badCapture);
  }
  return analyze(capture, { capturePath, leakhoundVersion: VERSION });
}

export async function reportCommand(file: string, opts: ReportOptions): Promise<number> {
  checkOutputPaths([
    { option: "--json", file: opts.json },
    { option: "--html", file: opts.html },
  ]);
  const report = analyzeCaptureFile(file);
  if (opts.lint) await lintCauses(report);
  writeOutputs(report, { ...opts, stream: process.stdout });
  // No target to pass through: the verdict alone decides, as for a run leakhound stopped.
  return decideExitCode({ target: null, verdict: report.verdict, failOnLeak: Boolean(opts.failOnLeak), leakExitCode: opts.leakExitCode });
}
