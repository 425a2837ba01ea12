// Runs the real built CLI (dist/cli.js) the way a user would.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = path.join(ROOT, "dist", "cli.js");
export const PROGRAMS = path.join(ROOT, "test", "fixtures", "programs");

export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  report: any | null;
  dir: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  /** Called with the child right after spawn (to send signals). */
  onSpawn?: (child: import("node:child_process").ChildProcess) => void;
}

export function tempDir(prefix = "lh-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** `leakhound run --json <tmp>/report.json [extra] -- <command>` */
export async function runLeakhound(command: string[], extra: string[] = [], opts: CliOptions = {}): Promise<CliResult> {
  const dir = tempDir();
  const json = path.join(dir, "report.json");
  const res = await runCli(["run", "--json", json, "--out", path.join(dir, "capture.lhdb"), ...extra, "--", ...command], opts);
  let report = null;
  try {
    report = JSON.parse(fs.readFileSync(json, "utf8"));
  } catch {
    /* no report */
  }
  return { ...res, report, dir };
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<Omit<CliResult, "report" | "dir">> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? PROGRAMS,
      env: { ...process.env, LEAK_SECONDS: "4", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    opts.onSpawn?.(child);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * The pid of the first child process of `parent` whose command line matches, once there is one
 * (Linux /proc): a signal meant for a run must wait for its target to be started, which takes
 * longer than any fixed delay on a loaded machine.
 */
export async function childRunning(parent: number, match: RegExp, timeoutMs = 60_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid !== parent) continue;
        // A child leakhound has forked but not yet started still has leakhound's own command line
        // (which names the target): it is not the target.
        const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
        if (cmdline[0] === process.execPath) continue;
        if (match.test(cmdline.join(" "))) return Number(entry);
      } catch {
        /* gone meanwhile */
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no child of ${parent} matching ${match} within ${timeoutMs} ms`);
}

/** Sends `signal` to `child` `afterMs` after its target (a child matching `match`) has started. */
export function signalOnceStarted(child: import("node:child_process").ChildProcess, match: RegExp, afterMs: number, signal: NodeJS.Signals): void {
  childRunning(child.pid!, match).then(
    () => setTimeout(() => child.kill(signal), afterMs),
    () => child.kill(signal),
  );
}

export function allFrames(leak: any): { file: string; line: number; function: string }[] {
  return [leak.site, ...(leak.stack ?? [])].filter(Boolean);
}

export function namesLine(leak: any, file: string, lines: number[]): boolean {
  return allFrames(leak).some((f) => path.basename(f.file) === file && lines.includes(f.line));
}
