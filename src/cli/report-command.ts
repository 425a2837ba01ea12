// `leakhound report capture.lhdb`: re-analyse a saved capture, offline.
import path from "node:path";
import Database from "better-sqlite3";
import { CaptureError, readCapture } from "../capture/store.js";
import { analyze } from "../analysis/analyze.js";
import { VERSION } from "../version.js";
import { EXIT, UserError, decideExitCode, type StoppedBy } from "./exit-codes.js";
import { checkOutputPaths, writeOutputs } from "./outputs.js";

export interface ReportOptions {
  json?: string;
  html?: string;
  quiet?: boolean;
  verbose?: boolean;
  failOnLeak?: boolean;
  leakExitCode: number;
}

/** The capture meta key where `run` records that leakhound stopped the target. */
export const STOPPED_BY_META = "stoppedBy";

/**
 * Reads `stoppedBy` from a capture's meta table. The capture reader does not know
 * this key (yet), so it is read here, read-only; any problem means "not recorded".
 */
export function readStoppedBy(file: string): StoppedBy {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT value FROM meta WHERE key = ?").get(STOPPED_BY_META) as { value: string } | undefined;
      return row && JSON.parse(row.value) === "leakhound" ? "leakhound" : null;
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

export function reportCommand(file: string, opts: ReportOptions): number {
  checkOutputPaths([
    { option: "--json", file: opts.json },
    { option: "--html", file: opts.html },
  ]);
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
  if (readStoppedBy(capturePath)) report.target.stoppedBy = "leakhound";
  for (const [file, s] of capture.sources) report.sources[file] = { start: s.start, lines: s.lines };
  writeOutputs(report, { ...opts, stream: process.stdout });
  // No target to pass through: the verdict alone decides, as for a run leakhound stopped.
  return decideExitCode({ target: null, verdict: report.verdict, failOnLeak: Boolean(opts.failOnLeak), leakExitCode: opts.leakExitCode });
}
