// Exit codes, and the one rule that turns a run's end and its verdict into
// leakhound's exit code (shared by `run` and `report`).
import type { Verdict } from "../report/model.js";

import { EXIT } from "../errors.js";

export { EXIT, UserError } from "../errors.js";

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

export function exitCodeForSignal(signal: string): number {
  return 128 + (SIGNALS[signal] ?? 0);
}

/** Who ended the target: null when it ended by itself (or a signal someone else sent). */
import type { StoppedBy } from "../capture/model.js";
export type { StoppedBy };

/** How the target ended, as the session saw it. */
export interface TargetEnd {
  exitCode: number | null;
  signal: string | null;
  /** "leakhound" when leakhound itself stopped the target (--duration). */
  stoppedBy: StoppedBy;
}

/** The signals leakhound stops a target with (--duration: SIGINT, then SIGTERM, then SIGKILL). */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGKILL"];

/**
 * True when leakhound stopped the target and the target died of that stop: killed
 * by one of the stop signals, or exiting with the code a shell gives for them
 * (130, 143, 137: what a program that re-raises or mimics the interrupt exits with).
 */
export function diedOfLeakhoundStop(t: TargetEnd): boolean {
  if (t.stoppedBy !== "leakhound") return false;
  if (t.signal !== null) return STOP_SIGNALS.includes(t.signal);
  return t.exitCode !== null && STOP_SIGNALS.some((s) => exitCodeForSignal(s) === t.exitCode);
}

export interface ExitDecision {
  /** The end of the target; null for `leakhound report` (no target to pass through). */
  target: TargetEnd | null;
  verdict: Verdict;
  failOnLeak: boolean;
  /** The code for "leak found" (--leak-exit-code, default 3). */
  leakExitCode: number;
}

/**
 * leakhound's exit code, for `run` and `report` alike:
 * - `report`, or a target that leakhound stopped and that died of that stop: the
 *   verdict decides (the leak code with --fail-on-leak and a leak, else 0);
 * - a target that ended by itself: its own code (128+N for signal N), except that
 *   exit 0 with --fail-on-leak and a leak gives the leak code.
 */
export function decideExitCode(d: ExitDecision): number {
  const leak = d.failOnLeak && d.verdict === "leak";
  if (d.target === null || diedOfLeakhoundStop(d.target)) return leak ? d.leakExitCode : 0;
  const own = d.target.signal ? exitCodeForSignal(d.target.signal) : (d.target.exitCode ?? EXIT.internal);
  return own === 0 && leak ? d.leakExitCode : own;
}
