// leakhound's exit codes and the one error type meant for the user. Every layer
// (host, capture, CLI) may raise a UserError; only the CLI turns it into a line
// and an exit code.
export const EXIT = {
  /** Bad options, no command, or an output path that cannot be written. */
  usage: 2,
  /** --fail-on-leak and the verdict is "leak" (the default of --leak-exit-code). */
  leakFound: 3,
  /** The capture given to `leakhound report` cannot be read. */
  badCapture: 4,
  /** attach: the process may not be attached to (ptrace not permitted) or is already being watched or traced. */
  attachRefused: 5,
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
