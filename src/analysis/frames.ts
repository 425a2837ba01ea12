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

// The import system's own frames: CPython 3.8+ names them "<frozen importlib._bootstrap>" and
// "<frozen importlib._bootstrap_external>"; an interpreter that runs them from source, importlib/_bootstrap*.py.
// The agent sums the import-time stacks it does not report one by one into one stack of such a frame.
const IMPORT_SYSTEM = /^<frozen importlib\._bootstrap(_external)?>$|[\\/]importlib[\\/]_bootstrap(_external)?\.py$/;

/**
 * Memory allocated while a module is imported: the import system's own (code objects, an extension
 * module's initialisation) and what the module's top-level code makes (its tables, caches filled at
 * import), found by an importlib frame in the stack. Each module is imported once, so this grows
 * only while the program loads more code (`pydoc -k` imports every module installed), is kept by
 * sys.modules and is bounded by the code there is: not a leak. (A program whose whole work runs
 * inside an import, `import app` doing the serving, would be judged as loading code.)
 */
export function isImportSystem(frames: readonly Frame[]): boolean {
  return frames.some((f) => IMPORT_SYSTEM.test(f.file));
}

export function siteKey(frame: Frame | null): string | null {
  return frame ? `${frame.file}:${frame.line}` : null;
}
