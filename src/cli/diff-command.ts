// `leakhound diff BEFORE.lhdb AFTER.lhdb`: what a change did to the leaks (src/diff).
import fs from "node:fs";
import { VERSION } from "../version.js";
import type { DiffOptions } from "./commands.js";
import { EXIT, UserError } from "./exit-codes.js";
import { loadCapture, refuseOverwrite } from "./load-capture.js";
import { checkOutputPaths } from "./outputs.js";
import { diffCaptures } from "../diff/compare.js";
import { renderDiff } from "../diff/terminal.js";
import { escapeText } from "../report/units.js";

export function diffCommand(beforeFile: string, afterFile: string, opts: DiffOptions): number {
  refuseOverwrite("--json", opts.json, [beforeFile, afterFile]);
  checkOutputPaths([{ option: "--json", file: opts.json }]);
  const before = loadCapture(beforeFile);
  const after = loadCapture(afterFile);
  const diff = diffCaptures(
    { capture: before.capture, path: before.capturePath },
    { capture: after.capture, path: after.capturePath },
    VERSION,
  );
  if (opts.json !== undefined) {
    try {
      fs.writeFileSync(opts.json, `${JSON.stringify(diff, null, 2)}\n`);
    } catch (err) {
      throw new UserError(`cannot write --json ${escapeText(opts.json)}: ${(err as Error)?.message ?? String(err)}`, EXIT.usage);
    }
  }
  if (!opts.quiet) process.stdout.write(renderDiff(diff));
  return opts.failOnNewLeak && diff.counts.new > 0 ? opts.leakExitCode : 0;
}
