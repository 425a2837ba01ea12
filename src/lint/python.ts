// Runs the lint half that lives in the agent package (leakhound_agent/lint) with
// the user's Python: its own `ast` parses the code, so whatever that Python
// accepts is what gets linted. Isolated (-E -s -S, which Python 2.7 knows too, so it can say "too old"): no site, no sitecustomize, no
// user environment; the agent folder goes on sys.path by hand.
import { spawn } from "node:child_process";
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
export type RawFinding = Omit<LintFinding, "file" | "runtime">;

export interface WorkerAnswer {
  python: string;
  rules: LintRule[];
  files: { file: string; lines: number; findings: RawFinding[]; error: string | null; shrunk: string[] }[];
}

/** Runs one worker on some files; rejects with a one-line UserError. */
export function runWorker(python: string, args: string[], request: object | null): Promise<WorkerAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ["-E", "-s", "-S", "-c", BOOTSTRAP, agentDir(), ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, PYTHONIOENCODING: "utf-8", PYTHONDONTWRITEBYTECODE: "1" },
    });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
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
      try {
        resolve(JSON.parse(Buffer.concat(out).toString("utf8")) as WorkerAnswer);
      } catch {
        reject(new UserError(`the linter in ${python} gave no readable answer`, EXIT.internal));
      }
    });
    child.stdin.end(request ? JSON.stringify(request) : "");
  });
}
