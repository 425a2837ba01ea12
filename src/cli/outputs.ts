// Writes a finished report everywhere the user asked: terminal, JSON, HTML.
import { renderTerminal } from "../report/terminal.js";
import { writeJsonReport } from "../report/json.js";
import { writeHtmlReport } from "../report/html-output.js";
import type { Report } from "../report/model.js";
import { EXIT, UserError } from "./exit-codes.js";

export interface OutputOptions {
  json?: string;
  html?: string;
  quiet?: boolean;
  /** Where the text report goes: stderr for `run` (stdout is the target's), stdout for `report`. */
  stream: NodeJS.WriteStream;
}

export function writeOutputs(report: Report, opts: OutputOptions): void {
  if (!opts.quiet) {
    opts.stream.write(renderTerminal(report, { color: Boolean(opts.stream.isTTY) && !process.env.NO_COLOR, cwd: process.cwd() }));
  }
  try {
    if (opts.json) writeJsonReport(report, opts.json);
    if (opts.html) writeHtmlReport(report, opts.html);
  } catch (err) {
    throw new UserError(`cannot write report: ${(err as Error).message}`, EXIT.internal);
  }
}
