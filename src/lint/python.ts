// Runs the lint half that lives in the agent package (leakhound_agent/lint) with
// the user's Python: its own `ast` parses the code, so whatever that Python
// accepts is what gets linted. Isolated (-E -s -S, which Python 2.7 knows too, so it can say "too old"): no site, no sitecustomize, no
// user environment; the agent folder goes on sys.path by hand.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { agentDir } from "../protocol/contract.js";
import { EXIT, UserError } from "../errors.js";
import type { LintFinding, LintRule } from "./model.js";

/** Python 2.7 can run this much: it says "too old" before importing anything. */
const BOOTSTRAP = [
  "import sys",
  "if sys.version_info < (3, 8):",
  "    sys.stderr.write('lh-lint-too-old %d.%d.%d\\n' % tuple(sys.version_info[:3])); sys.exit(3)",
  "sys.path.insert(0, sys.argv[1])",
  "from leakhound_agent.lint.main import main",
  "sys.exit(main(sys.argv[2:]))",
].join("\n");

/** A finding as the Python side sends it: the report's, before its file and run-time link are added. */
/** `needs`: a finding that stands only with evidence that its code runs many times: alternatives, each a
 *  list of names that must all be called (classes made, functions run) from functions that run per call
 *  (or be among the other facts of main.py's "made": `once:`, `ctor:`, `ref:`, `serves:`; `ext:` and `init:`
 *  are closed over first, see evidence.ts); a name that starts with `!`
 *  must be in no file's.
 *  `weak`: why the finding is of low confidence by its nature (a table keyed by `id()`, one exception kept). */
export type RawFinding = Omit<LintFinding, "file" | "runtime" | "confidence" | "lowBecause"> & { needs?: string[][]; weak?: string };

export interface WorkerAnswer {
  python: string;
  rules: LintRule[];
  /** `shrunk`: the names the file trims; `made`: the names its functions that run per call call, and
   *  the other facts of main.py. */
  files: { file: string; lines: number; findings: RawFinding[]; error: string | null; shrunk: string[]; made?: string[] }[];
}

/** Spawns the linter in `python`; `onOut` gets its stdout as it comes; resolves when it exits cleanly,
 *  rejects with a one-line UserError. */
function spawnLinter(python: string, args: string[], onOut: (d: Buffer) => void): { child: ChildProcessWithoutNullStreams; done: Promise<void> } {
  const child = spawn(python, ["-E", "-s", "-S", "-c", BOOTSTRAP, agentDir(), ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, PYTHONIOENCODING: "utf-8", PYTHONDONTWRITEBYTECODE: "1" },
  });
  const done = new Promise<void>((resolve, reject) => {
    let err = "";
    child.stdout.on("data", onOut);
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") reject(new UserError(`Python not found: ${python} (choose one with --python)`, EXIT.notFound));
      else reject(new UserError(`cannot run ${python}: ${e.message}`, EXIT.notFound));
    });
    child.stdin.on("error", () => {}); // a Python that exits early: its exit code tells
    child.on("close", (code) => {
      const old = /lh-lint-too-old (\S+)/.exec(err);
      if (old) return reject(new UserError(`leakhound lint needs Python 3.8 or newer; ${python} is ${old[1]}`, EXIT.notObservable));
      if (code !== 0) {
        const last = err.trim().split("\n").pop() ?? "";
        if (/SyntaxError|invalid syntax|No module named/.test(err) || code === 127 || code === 126) {
          return reject(new UserError(`${python} cannot run the linter${last ? `: ${last}` : ""} (it needs CPython 3.8+)`, EXIT.notObservable));
        }
        return reject(new UserError(`the linter failed in ${python} (exit ${code})${last ? `: ${last}` : ""}`, EXIT.internal));
      }
      resolve();
    });
  });
  return { child, done };
}

const unreadable = (python: string) => new UserError(`the linter in ${python} gave no readable answer`, EXIT.internal);

/** Runs one worker on some files (or, with `--rules`, none); rejects with a one-line UserError. */
export async function runWorker(python: string, args: string[], request: object | null): Promise<WorkerAnswer> {
  const out: Buffer[] = [];
  const { child, done } = spawnLinter(python, args, (d) => out.push(d));
  child.stdin.end(request ? JSON.stringify(request) : "");
  await done;
  try {
    return JSON.parse(Buffer.concat(out).toString("utf8")) as WorkerAnswer;
  } catch {
    throw unreadable(python);
  }
}

/** Files already in hand per worker: one being linted and the next, so a worker never waits for the host. */
const IN_FLIGHT = 2;

/**
 * Lints `files` (best largest first) with `workers` Pythons that take them one at a time from one
 * queue (`--stream`): a worker that finishes early takes the next file, so all of them stay busy to
 * the end whatever each file costs or the machine's other load. One answer for all files.
 */
export async function runWorkers(python: string, files: string[], disable: string[], workers: number): Promise<WorkerAnswer> {
  const queue = files.slice();
  let head: WorkerAnswer | null = null;
  const results: WorkerAnswer["files"] = [];
  const one = async () => {
    let inFlight = 0;
    let pending = "";
    let bad = false;
    const feed = () => {
      while (inFlight < IN_FLIGHT && queue.length) {
        const file = queue.shift()!;
        child.stdin.write(JSON.stringify(file) + "\n");
        inFlight++;
      }
      if (!queue.length && !child.stdin.writableEnded) child.stdin.end();
    };
    const { child, done } = spawnLinter(python, ["--stream"], (d) => {
      pending += d.toString("utf8");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          bad = true;
          continue;
        }
        if (msg && typeof msg === "object" && "rules" in msg) head ??= { ...(msg as WorkerAnswer), files: [] };
        else {
          results.push(msg as WorkerAnswer["files"][number]);
          inFlight--;
        }
        feed();
      }
    });
    child.stdin.write(JSON.stringify({ disable }) + "\n");
    feed();
    try {
      await done;
    } catch (e) {
      queue.length = 0; // the others finish what they hold and stop
      throw e;
    }
    if (bad || pending.trim() || inFlight) throw unreadable(python);
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, one));
  if (!head) throw unreadable(python);
  return { ...(head as WorkerAnswer), files: results };
}
