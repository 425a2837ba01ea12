// Frames for text outputs; numbers come from units.ts, the one vocabulary.
import path from "node:path";
import type { Frame } from "../protocol/messages.js";
import { escapeText, isNoPythonFrame, NO_PYTHON_FRAME } from "./units.js";

export { formatBytes, formatCount, formatGrowth, formatRate, countOf, escapeText } from "./units.js";

/** "app.py:12 handle" (escaped: names come from the target). */
export function shortFrame(f: Frame): string {
  if (isNoPythonFrame(f)) return NO_PYTHON_FRAME;
  return escapeText(`${path.basename(f.file)}:${f.line} ${f.function}`);
}

export function longFrame(f: Frame, cwd?: string): string {
  if (isNoPythonFrame(f)) return NO_PYTHON_FRAME;
  let file = f.file;
  if (cwd && file.startsWith(cwd + path.sep)) file = path.relative(cwd, file);
  return escapeText(`${file}:${f.line} in ${f.function}`);
}
