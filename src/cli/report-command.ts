// `leakhound report capture.lhdb`: re-analyse a saved capture, offline.
import path from "node:path";
import { CaptureError, readCapture } from "../capture/store.js";
import { analyze } from "../analysis/analyze.js";
import { VERSION } from "../version.js";
import { EXIT, UserError } from "./exit-codes.js";
import { writeOutputs } from "./outputs.js";

export interface ReportOptions {
  json?: string;
  html?: string;
  quiet?: boolean;
  failOnLeak?: boolean;
}

export function reportCommand(file: string, opts: ReportOptions): number {
  const capturePath = path.resolve(file);
  let capture;
  try {
    capture = readCapture(capturePath);
  } catch (err) {
    // Whatever stops the capture from being read is exit 4, in one line.
    if (err instanceof CaptureError) throw new UserError(err.message, EXIT.badCapture);
    const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new UserError(`cannot read ${capturePath}: ${msg}`, EXIT.badCapture);
  }
  const report = analyze(capture, { capturePath, leakhoundVersion: VERSION });
  for (const [file, s] of capture.sources) report.sources[file] = { start: s.start, lines: s.lines };
  writeOutputs(report, { ...opts, stream: process.stdout });
  return opts.failOnLeak && report.verdict === "leak" ? EXIT.leakFound : 0;
}
