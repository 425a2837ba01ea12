// One `leakhound run`: start the agent socket, run the target with the agent
// injected, pass signals through, and feed every agent message to the run's
// recorder until the target (and every Python process it started) is done. The
// CLI owns the recorder and the analysis; the host only runs and feeds.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { AgentServer } from "./agent-server.js";
import type { CaptureSink } from "../capture/recorder.js";
import type { StoppedBy } from "../capture/model.js";
import { openWatch, recordEnd, type WatchOptions } from "./watch.js";
import { ENV, agentDir } from "../protocol/contract.js";
import { EXIT, UserError } from "../errors.js";
import { inspectCommand } from "./python-command.js";

/** --duration: how long the stop waits for the first process to start (a SIGINT during start-up is lost). */
const CONNECT_GRACE_MS = 5000;
import { buildShim } from "./native-shim.js";

export interface SessionOptions extends WatchOptions {
  argv: string[];
  /** Runs of each test in a pytest session (`--repeat`); 1 runs each once. */
  repeat?: number;
}

/** The agent's pytest plugin, named in PYTEST_PLUGINS for any pytest the target starts. */
export const PYTEST_PLUGIN = "leakhound_agent.pytest_plugin";

export interface SessionResult {
  exitCode: number | null;
  signal: string | null;
  /** "leakhound" when leakhound stopped the target itself (--duration), null when it ended otherwise. */
  stoppedBy: StoppedBy;
  /** Python processes that connected. */
  connected: number;
  notes: string[];
  /** Why nothing could be observed, when nothing connected. */
  notObservable: string | null;
}

/**
 * Signals sent to leakhound alone, passed on to the target (a terminal's Ctrl-C already reaches it:
 * same process group). In place from the start of the run: a signal that lands before the target is
 * spawned (while the shim is built, while its process is forked) would otherwise end leakhound and
 * leave the target running on its own. Such a signal is passed on as soon as the target exists.
 * Closed when the target exits: a signal then ends leakhound as usual.
 */
class SignalRelay {
  private child: ChildProcess | null = null;
  private readonly early: NodeJS.Signals[] = [];
  private readonly handlers: [NodeJS.Signals, () => void][];

  constructor() {
    this.handlers = (["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as NodeJS.Signals[]).map((sig) => [sig, () => this.pass(sig)]);
    for (const [sig, h] of this.handlers) process.on(sig, h);
  }

  attach(child: ChildProcess): void {
    this.child = child;
    for (const sig of this.early.splice(0)) this.pass(sig);
  }

  close(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
  }

  private pass(sig: NodeJS.Signals): void {
    if (sig === "SIGINT" && process.stdin.isTTY) return;
    const child = this.child;
    if (child === null) this.early.push(sig);
    else if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  }
}

export async function runSession(opts: SessionOptions): Promise<SessionResult> {
  const relay = new SignalRelay();
  try {
    return await runRelayed(opts, relay);
  } finally {
    relay.close();
  }
}

async function runRelayed(opts: SessionOptions, relay: SignalRelay): Promise<SessionResult> {
  const cwd = process.cwd();
  const info = inspectCommand(opts.argv, cwd);
  const notes: string[] = [];
  if (info.injectionBlocked) notes.push(info.injectionBlocked);

  // Everything made from here on is undone on every error path: the private
  // socket folder, the socket, the status row.
  const watch = await openWatch(opts);
  const w = opts.sink;
  const { socketPath, server: srv, status: st } = watch;
  try {
    const userPath = process.env.PYTHONPATH ?? "";
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONPATH: userPath ? `${agentDir()}${path.delimiter}${userPath}` : agentDir(),
      [ENV.socket]: socketPath,
      [ENV.collector]: opts.collector,
      [ENV.interval]: String(opts.intervalSec),
      [ENV.nframes]: String(opts.nframes),
      [ENV.sampleBytes]: String(opts.sampleBytes),
      // pytest loads the plugin by itself (also with plugin autoload disabled); other programs ignore it.
      PYTEST_PLUGINS: [process.env.PYTEST_PLUGINS, PYTEST_PLUGIN].filter(Boolean).join(","),
    };
    if (opts.repeat && opts.repeat > 1) env[ENV.pytestRepeat] = String(opts.repeat);
    if (opts.collector !== "tracemalloc" && process.env[ENV.native] !== "0") {
      const shim = buildShim(agentDir(), process.env);
      if (shim.path) env.LD_PRELOAD = process.env.LD_PRELOAD ? `${shim.path} ${process.env.LD_PRELOAD}` : shim.path;
      if (shim.note) notes.push(shim.note);
    }

    // The status row is reserved before the target can write anything.
    st?.start();
    const child = spawn(opts.argv[0]!, opts.argv.slice(1), { stdio: "inherit", env, cwd });
    const alive = () => child.exitCode === null && child.signalCode === null;
    relay.attach(child);

    // --duration: leakhound stops the target itself, and says so in the result.
    let stoppedBy: StoppedBy = null;
    const stop = (sig: NodeJS.Signals) => () => {
      if (!alive()) return;
      // The program's shutdown begins here: what it frees from now on was kept while it worked.
      if (stoppedBy === null) w.stopSignalSent?.();
      stoppedBy = "leakhound";
      child.kill(sig);
    };
    const timers: NodeJS.Timeout[] = [];
    let ended = false;
    if (opts.durationSec !== null) {
      // A SIGINT that lands while the interpreter still runs its start-up (site.py, our bootstrap)
      // is lost, or fails the start-up itself (a KeyboardInterrupt out of site.py: exit 1, no
      // signal). So the stop waits, up to CONNECT_GRACE_MS, for a process to connect and send its
      // second sample, one interval after the agent started (a loaded machine may take seconds).
      let waited = 0;
      const started = () => srv.unsupported.length > 0 || srv.helloPids.some((pid) => srv.samplesFrom(pid) >= 2);
      const stopNow = () => {
        if (ended) return;
        if (!started() && waited < CONNECT_GRACE_MS && alive()) {
          waited += 100;
          timers.push(setTimeout(stopNow, 100));
          return;
        }
        stop("SIGINT")();
        timers.push(setTimeout(stop("SIGTERM"), 5000));
        timers.push(setTimeout(stop("SIGKILL"), 10000));
      };
      timers.push(
        setTimeout(() => {
          if (!opts.beforeStop || !alive()) return stopNow();
          opts.beforeStop().then(stopNow, stopNow);
        }, opts.durationSec * 1000),
      );
    }

    const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
      child.once("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") reject(new UserError(`command not found: ${opts.argv[0]}`, EXIT.notFound));
        else if (err.code === "EACCES") reject(new UserError(`cannot execute ${opts.argv[0]}: permission denied`, EXIT.notObservable));
        else reject(err);
      });
      child.once("exit", (c, s) => resolve({ code: c, signal: s }));
    }).finally(() => {
      ended = true;
      for (const t of timers) clearTimeout(t);
      relay.close();
      st?.stop();
    });
    if (process.env.LEAKHOUND_DEBUG) process.stderr.write(`leakhound: target exited at ${Date.now() / 1000}\n`);

    // Grandchildren may still be finishing their exit handshake.
    await srv.drain(3000);
    watch.close();

    const firstPid = srv.helloPids[0];
    if (firstPid !== undefined && child.pid === firstPid) w.processEnded(firstPid, code, signal, false);
    else if (firstPid !== undefined) w.processEnded(firstPid, null, null, false);

    return finish(opts, info, notes, srv, w, code, signal, stoppedBy);
  } finally {
    watch.close();
  }
}

function finish(
  opts: SessionOptions,
  info: ReturnType<typeof inspectCommand>,
  notes: string[],
  server: AgentServer,
  writer: CaptureSink,
  code: number | null,
  signal: string | null,
  stoppedBy: StoppedBy,
): SessionResult {
  let notObservable: string | null = null;
  if (server.helloPids.length === 0) {
    if (server.unsupported.length > 0) {
      const u = server.unsupported[0]!;
      notObservable = `Python ${u.python} cannot be observed: ${u.reason}`;
    } else if (info.injectionBlocked) {
      notObservable = info.injectionBlocked;
    } else if (!info.looksLikePython) {
      notObservable = `no Python process connected: ${opts.argv[0]} does not look like Python (leakhound needs a command that starts CPython 3.8+)`;
    } else if (signal !== null) {
      // Stopped (a Ctrl-C, a SIGTERM passed on) before its agent said hello: its exit status
      // passes through like any other; nothing was measured, and that is no error of the command.
      notes.push(`the target was ended by ${signal} before its agent connected: nothing was measured`);
    } else {
      notObservable = `no Python process connected: the agent was not loaded (is the interpreter run with -I, -E or -S, or does the program exit before site runs?)`;
    }
    if (notObservable) notes.push(notObservable);
  }
  recordEnd(writer, server, notes, { exitCode: code, signal, stoppedBy });

  return {
    exitCode: code,
    signal,
    stoppedBy,
    connected: server.helloPids.length,
    notes,
    notObservable,
  };
}
