// `leakhound report capture.lhdb`: re-analyse a saved capture, offline.
import { analyze } from "../analysis/analyze.js";
import { VERSION } from "../version.js";
import type { ReportOptions } from "./commands.js";
import { decideExitCode } from "./exit-codes.js";
import { loadCapture } from "./load-capture.js";
import { checkOutputPaths, writeOutputs } from "./outputs.js";


export function reportCommand(file: string, opts: ReportOptions): number {
  checkOutputPaths([
    { option: "--json", file: opts.json },
    { option: "--html", file: opts.html },
  ]);
  const { capture, capturePath } = loadCapture(file);
  const report = analyze(capture, { capturePath, leakhoundVersion: VERSION });
  writeOutputs(report, { ...opts, stream: process.stdout });
  // No target to pass through: the verdict alone decides, as for a run leakhound stopped.
  return decideExitCode({ target: null, verdict: report.verdict, failOnLeak: Boolean(opts.failOnLeak), leakExitCode: opts.leakExitCode });
}
