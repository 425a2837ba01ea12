// Source lines around the frames a report names, read when the run ends so
// that the capture and the HTML report stand alone later.
import fs from "node:fs";
import type { Frame } from "../protocol/messages.js";
import type { SourceSnippet } from "./model.js";

const CONTEXT = 6;
const MAX_LINES = 400;
const MAX_FILE_BYTES = 4 * 1024 * 1024;

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
    const lo = Math.max(1, Math.min(...lines) - CONTEXT);
    const hi = Math.min(all.length, Math.max(...lines) + CONTEXT, lo + MAX_LINES - 1);
    out.push({ file, start: lo, lines: all.slice(lo - 1, hi) });
  }
  return out;
}
