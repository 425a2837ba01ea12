// `leakhound report capture.lhdb`: re-analyse a saved capture, offline.
import { analyze } from "../analysis/analyze.js";
import { VERSION } from "../version.js";
import type { ReportOptions } from "./commands.js";
import { UserError, decideExitCode } from "./exit-codes.js";
import { loadCapture } from "./load-capture.js";
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


/** Reads and analyses a capture (exit 4 when it cannot be read; also `lint --capture`). */
export function analyzeCaptureFile(file: string): Report {
  const { capture, capturePath } = loadCapture(file);
  return analyze(capture, { capturePath, leakhoundVersion: VERSION });
}

export async function reportCommand(file: string, opts: ReportOptions): Promise<number> {
  checkOutputPaths([
    { option: "--json", file: opts.json },
    { option: "--html", file: opts.html },
    { option: "--sarif", file: opts.sarif },
    { option: "--junit", file: opts.junit },
  ]);
  const report = analyzeCaptureFile(file);
  if (opts.lint) await lintCauses(report);
  writeOutputs(report, { ...opts, stream: process.stdout });
  // No target to pass through: the verdict alone decides, as for a run leakhound stopped.
  return decideExitCode({ target: null, verdict: report.verdict, failOnLeak: Boolean(opts.failOnLeak), leakExitCode: opts.leakExitCode });
}
