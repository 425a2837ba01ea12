// What leakhound can tell about a command before running it: does it exist,
// does it look like Python, and will Python let the agent in.
import fs from "node:fs";
import path from "node:path";
import { EXIT, UserError } from "../errors.js";

export interface CommandInfo {
  /** Absolute path of the program, when found on PATH. */
  resolved: string;
  /** argv[0] is a Python interpreter (by name or by shebang). */
  looksLikePython: boolean;
  /** Why the agent cannot be injected, when that is known before running. */
  injectionBlocked: string | null;
}

const PYTHON_NAME = /^python(\d+(\.\d+)*)?[a-z]?(-dbg)?$/;
/** Interpreter options that take a value as the next word. */
const OPTIONS_WITH_ARG = new Set(["-W", "-X", "-Q"]);

export function findOnPath(cmd: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (cmd.includes("/")) return fs.existsSync(cmd) ? path.resolve(cmd) : null;
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      const st = fs.statSync(p);
      if (st.isFile() && st.mode & 0o111) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

function shebangSaysPython(file: string): boolean {
  try {
    const fd = fs.openSync(file, "r");
    try {
      const buf = Buffer.alloc(256);
      const n = fs.readSync(fd, buf, 0, 256, 0);
      const first = buf.subarray(0, n).toString("latin1").split("\n")[0] ?? "";
      return first.startsWith("#!") && /python/.test(first);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Checks the command; throws UserError for what is certain to fail (missing command or script). */
export function inspectCommand(argv: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): CommandInfo {
  const [cmd, ...rest] = argv;
  if (!cmd) throw new UserError("no command given: use leakhound run -- python app.py", EXIT.usage);
  const resolved = findOnPath(cmd, env);
  if (!resolved) throw new UserError(`command not found: ${cmd}`, EXIT.notFound);
  const byName = PYTHON_NAME.test(path.basename(cmd));
  const looksLikePython = byName || shebangSaysPython(resolved);
  let injectionBlocked: string | null = null;
  if (byName) {
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!;
      if (a === "-c" || a === "-m" || a === "-" || a === "--") break;
      if (OPTIONS_WITH_ARG.has(a)) {
        i++;
        continue;
      }
      if (a.startsWith("-") && !a.startsWith("--") && a.length > 1) {
        const letters = a.slice(1);
        if (letters.startsWith("X") || letters.startsWith("W")) continue;
        if (letters.includes("I"))
          injectionBlocked = `${cmd} -I (isolated mode) ignores PYTHONPATH, so leakhound's agent cannot be loaded`;
        else if (letters.includes("E"))
          injectionBlocked = `${cmd} -E ignores PYTHON* environment variables, so leakhound's agent cannot be loaded`;
        else if (letters.includes("S"))
          injectionBlocked = `${cmd} -S skips the site module, so leakhound's agent cannot be loaded`;
        continue;
      }
      if (a.startsWith("--")) continue;
      // The first plain word is the script.
      const script = path.resolve(cwd, a);
      if (!fs.existsSync(script)) throw new UserError(`script not found: ${a}`, EXIT.notFound);
      break;
    }
  }
  return { resolved, looksLikePython, injectionBlocked };
}
