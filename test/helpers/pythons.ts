// Every CPython interpreter on this machine: pyenv versions plus `python3` on PATH.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface PythonInstall {
  /** "3.12.1" */
  version: string;
  /** Path to run it with. */
  path: string;
}

/** Works on Python 2.7 too. Prints implementation, version and real executable. */
const PROBE =
  "import sys, platform; sys.stdout.write(' '.join([platform.python_implementation(), " +
  "'.'.join(str(n) for n in sys.version_info[:3]), sys.executable]))";

let cache: (PythonInstall & { realpath: string })[] | null = null;

function pyenvRoot(): string | null {
  if (process.env.PYENV_ROOT && fs.existsSync(process.env.PYENV_ROOT)) return process.env.PYENV_ROOT;
  try {
    return execFileSync("pyenv", ["root"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || null;
  } catch {
    const guess = path.join(os.homedir(), ".pyenv");
    return fs.existsSync(guess) ? guess : null;
  }
}

function candidates(): string[] {
  const out: string[] = [];
  const root = pyenvRoot();
  if (root) {
    const versions = path.join(root, "versions");
    let names: string[] = [];
    try {
      names = fs.readdirSync(versions);
    } catch {
      /* no versions */
    }
    for (const name of names.sort()) {
      for (const exe of ["python3", "python"]) {
        const p = path.join(versions, name, "bin", exe);
        if (fs.existsSync(p)) {
          out.push(p);
          break;
        }
      }
    }
  }
  out.push("python3");
  return out;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Every CPython found (any version, 2.7 included), each real interpreter once, oldest first. */
export function findAllPythons(): PythonInstall[] {
  if (!cache) {
    const found = new Map<string, PythonInstall & { realpath: string }>();
    for (const exe of candidates()) {
      let probe: string;
      try {
        probe = execFileSync(exe, ["-S", "-c", PROBE], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
          timeout: 20_000,
          env: { ...process.env, PYTHONPATH: "", PYTHONSTARTUP: "" },
        });
      } catch {
        continue;
      }
      const [impl, version, executable] = probe.trim().split(" ");
      if (impl !== "CPython" || !version) continue;
      let real = executable || exe;
      try {
        real = fs.realpathSync(real);
      } catch {
        /* keep as is */
      }
      if (!found.has(real)) found.set(real, { version, path: exe, realpath: real });
    }
    cache = [...found.values()].sort((a, b) => compareVersions(a.version, b.version));
  }
  return cache.map(({ version, path }) => ({ version, path }));
}

/** CPythons the agent supports (3.8+), or those in [min, below) when given ("3.6", "3.8"). */
export function findPythons(range: { min?: string; below?: string } = {}): PythonInstall[] {
  const min = range.min ?? "3.8";
  return findAllPythons().filter(
    (p) => compareVersions(p.version, min) >= 0 && (range.below === undefined || compareVersions(p.version, range.below) < 0),
  );
}
