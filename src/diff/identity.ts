// Which site is "the same" in two captures: the same file (relative to the process's
// working directory, so two checkouts compare), the same function, and the same code on
// the line; a fix that adds or removes lines above the site moves its line number, not
// its code. Where a capture kept no source text for a line, the line number stands in.
import path from "node:path";
import type { Capture } from "../capture/model.js";
import type { Frame } from "../protocol/messages.js";

export interface SiteIdentity {
  file: string;
  function: string;
  /** The stripped source line, or null when the capture has no text for it. */
  code: string | null;
  line: number;
}

export function codeAt(capture: Capture, file: string, line: number): string | null {
  const snippet = capture.sources.get(file);
  if (!snippet || line < snippet.start || line >= snippet.start + snippet.lines.length) return null;
  const text = snippet.lines[line - snippet.start]?.trim();
  return text ? text : null;
}

export function siteIdentity(capture: Capture, cwd: string, frame: Frame): SiteIdentity {
  const rel = cwd && path.isAbsolute(frame.file) ? path.relative(cwd, frame.file) : frame.file;
  const file = rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : frame.file;
  return { file, function: frame.function, code: codeAt(capture, frame.file, frame.line), line: frame.line };
}

/** Same file and function, and the same code (or, without text on either side, the same line). */
export function sameSite(a: SiteIdentity, b: SiteIdentity): boolean {
  if (a.file !== b.file || a.function !== b.function) return false;
  return a.code !== null && b.code !== null ? a.code === b.code : a.line === b.line;
}
