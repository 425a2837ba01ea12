// Numbers in the words of the report: the one vocabulary of src/report/units.ts
// (binary units labelled KiB/MiB, signed rates), so the analysis prose and every
// output print the same figure for the same number.
import type { Frame } from "../protocol/messages.js";

import { isNoPythonFrame, NO_PYTHON_FRAME } from "../report/units.js";

export { formatBytes, formatRate, formatSec } from "../report/units.js";

/** "main.py:12 (handle)" with the file's base name. */
export function frameLabel(frame: Frame | null): string {
  if (!frame) return "an unknown site";
  if (isNoPythonFrame(frame)) return NO_PYTHON_FRAME;
  const base = frame.file.split(/[\\/]/).pop() || frame.file;
  return `${base}:${frame.line} (${frame.function})`;
}
