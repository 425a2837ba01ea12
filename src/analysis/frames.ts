// Which frame of an allocation stack is "the site": the innermost frame of the
// user's own code. The standard library, installed packages, frozen modules and
// leakhound's agent allocate on behalf of the caller, so the caller is named.
import type { Frame } from "../protocol/messages.js";

const LIBRARY_PATTERNS: readonly RegExp[] = [
  /[\\/](site|dist)-packages[\\/]/,
  // CPython's stdlib: .../lib/python3.12/..., .../lib64/python3.13t/..., pypy's lib-python.
  /[\\/]lib(64)?[\\/]python\d+(\.\d+)?t?[\\/]/,
  /[\\/]lib-python[\\/]/,
  // Windows installs: ...\Python312\Lib\logging\__init__.py
  /\\Lib\\/,
  /[\\/]leakhound_agent[\\/]/,
];

/** False for the stdlib, installed packages, "<frozen ...>"/"<string>" pseudo-files and the agent. */
export function isUserFrame(frame: Frame): boolean {
  const file = frame.file;
  if (!file || (file.startsWith("<") && file.endsWith(">"))) return false;
  return !LIBRARY_PATTERNS.some((p) => p.test(file));
}

/** Innermost user frame, else the innermost frame, else null. Frames are innermost first. */
export function pickSite(frames: readonly Frame[] | undefined): Frame | null {
  if (!frames || frames.length === 0) return null;
  for (const f of frames) if (isUserFrame(f)) return f;
  return frames[0];
}

export function siteKey(frame: Frame | null): string | null {
  return frame ? `${frame.file}:${frame.line}` : null;
}
