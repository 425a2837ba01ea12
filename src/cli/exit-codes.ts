// Exit codes. `leakhound run` otherwise exits with the target's own code
// (128 + signal number when the target was killed by a signal).
export const EXIT = {
  /** Bad options or no command. */
  usage: 2,
  /** --fail-on-leak and the verdict is "leak" (when the target itself exited 0). */
  leakFound: 3,
  /** The capture given to `leakhound report` cannot be read. */
  badCapture: 4,
  /** leakhound itself failed. */
  internal: 125,
  /** The command ran but no Python process could be observed (not Python, -I/-E/-S, Python < 3.8). */
  notObservable: 126,
  /** The command or the Python script does not exist. */
  notFound: 127,
} as const;

/** An error meant for the user: one line, a documented exit code, no stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

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
