// Reading a saved capture for an offline command (report, export, diff): whatever
// stops it from being read is one line and exit 4.
import path from "node:path";
import type { Capture } from "../capture/model.js";
import { CaptureError, readCapture } from "../capture/store.js";
import { EXIT, UserError } from "./exit-codes.js";

export function loadCapture(file: string): { capture: Capture; capturePath: string } {
  const capturePath = path.resolve(file);
  try {
    return { capture: readCapture(capturePath), capturePath };
  } catch (err) {
    if (err instanceof CaptureError) throw new UserError(err.message, EXIT.badCapture);
    const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new UserError(`cannot read ${capturePath}: ${msg}`, EXIT.badCapture);
  }
}

/** An output that would overwrite a capture the command reads: a usage error (exit 2), before anything is read. */
export function refuseOverwrite(option: string, output: string | undefined, captures: string[]): void {
  if (output === undefined) return;
  const out = path.resolve(output);
  if (captures.some((c) => path.resolve(c) === out)) {
    throw new UserError(`cannot write ${option} ${output}: it is the capture being read`, EXIT.usage);
  }
}
