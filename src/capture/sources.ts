// Source lines around the frames a report names, read when the run ends so
// that the capture and the HTML report stand alone later.
import fs from "node:fs";
import type { Frame } from "../protocol/messages.js";
import type { SourceSnippet } from "./model.js";

const CONTEXT = 6;
const MAX_LINES = 400;
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Frames in order of importance: where one file's lines span more than MAX_LINES, the first ones are kept. */
export function readSnippets(frames: Frame[]): SourceSnippet[] {
  const byFile = new Map<string, number[]>();
  for (const f of frames) {
    if (!f.file || f.file.startsWith("<") || f.line <= 0) continue;
    const list = byFile.get(f.file) ?? [];
    list.push(f.line);
    byFile.set(f.file, list);
  }
  const out: SourceSnippet[] = [];
  for (const [file, lines] of byFile) {
    let text: string;
    try {
      if (fs.statSync(file).size > MAX_FILE_BYTES) continue;
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const all = text.split(/\r?\n/);
    // Earlier frames first: a later line widens the range only while it stays within MAX_LINES.
    let lo = Math.max(1, lines[0]! - CONTEXT);
    let hi = Math.min(all.length, lines[0]! + CONTEXT);
    for (const line of lines) {
      const l = Math.min(lo, Math.max(1, line - CONTEXT));
      const h = Math.max(hi, Math.min(all.length, line + CONTEXT));
      if (h - l + 1 > MAX_LINES) continue;
      lo = l;
      hi = h;
    }
    out.push({ file, start: lo, lines: all.slice(lo - 1, hi) });
  }
  return out;
}
