// One `leakhound attach PID`: check that the running process can be watched, inject
// the agent into it (gdb in batch mode on CPython 3.8-3.13, sys.remote_exec on
// 3.14+), feed the recorder until --duration, Ctrl-C or the process's exit, then
// detach: the agent takes a last sample, searches the leaks' retainers (the
// detach answers like an exit handshake), and turns itself off; the program runs
// on as before. The socket, server and status row are shared with `run` (watch.ts).
//
// Injection (the approach of pyrasite and memray attach, written anew): gdb adds
// a pending call to a harmless C function (PyCallable_Check) and breaks on it and on
// PyErr_CheckSignals: points where CPython itself may run Python code (pending
// calls, signal handlers), with the GIL held, in the main thread. There it runs a
// few lines of Python (exec in a private namespace: nothing is added to __main__)
// that import leakhound_agent.attach and call start(socket, settings), then gdb
// detaches. Errors inside are swallowed: nothing reaches the program.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ENV, agentDir } from "../protocol/contract.js";
import { EXIT, UserError } from "../errors.js";
import type { AgentServer } from "./agent-server.js";
import type { HelloMessage } from "../protocol/messages.js";
import { findOnPath } from "./python-command.js";
import { openWatch, recordEnd, type WatchOptions } from "./watch.js";
import type { SessionResult } from "./session.js";

export interface AttachOptions extends WatchOptions {
  pid: number;
}

/** What /proc says about the process to attach to. */
export interface TargetInfo {
  pid: number;
  name: string;
  /** Real, effective, saved uid; real, effective, saved gid. */
  uids: number[];
  gids: number[];
  tracerPid: number;
  /** /proc/PID/exe (a path that works even when the file was replaced), and what it points to. */
  exe: string;
  exeTarget: string | null;
  /** [major, minor, micro] (micro 0 when read from a library name), or null when not Python. */
  python: [number, number, number] | null;
}

/** Reason prefix of an agent that refuses because one already runs there (leakhound_agent/attach.py). */
const ALREADY_WATCHED = "already watched by leakhound";
/** How long the main thread may take to reach a point where the agent can be started. */
const INJECT_TIMEOUT_MS = Number(process.env.LEAKHOUND_ATTACH_TIMEOUT ?? "") * 1000 || 20_000;
const HELLO_TIMEOUT_MS = 15_000;
const CAP_SYS_PTRACE = 19;
const PYTHON_EXE = /^python(\d+(\.\d+)*)?[a-z]?(-dbg)?$/;

function readProc(pid: number | "self", name: string): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/${name}`, "latin1");
  } catch {
    return null;
  }
}

function statusField(status: string, name: string): string {
  return new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim() ?? "";
}

function hasPtraceCapability(): boolean {
  const caps = statusField(readProc("self", "status") ?? "", "CapEff");
  try {
    return ((BigInt(`0x${caps || "0"}`) >> BigInt(CAP_SYS_PTRACE)) & 1n) === 1n;
  } catch {
    return false;
  }
}

function yamaScope(): number | null {
  const raw = readFileOrNull("/proc/sys/kernel/yama/ptrace_scope");
  const n = raw === null ? NaN : Number(raw.trim());
  return Number.isInteger(n) ? n : null;
}

function readFileOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, "latin1");
  } catch {
    return null;
  }
}

function commOf(pid: number): string {
  return (readProc(pid, "comm") ?? "").trim() || "?";
}

/** The process's command line, for the capture (empty when it cannot be read). */
export function commandLine(pid: number): string[] {
  const raw = readProc(pid, "cmdline");
  return raw ? Buffer.from(raw, "latin1").toString("utf8").replace(/\0$/, "").split("\0") : [];
}

/** Facts about the process, or a UserError when there is no such process. */
export function inspectTarget(pid: number): TargetInfo {
  const status = readProc(pid, "status");
  if (status === null || pid <= 0) throw new UserError(`no such process: ${pid}`, EXIT.notFound);
  const ids = (field: string) => statusField(status, field).split(/\s+/).slice(0, 3).map(Number);
  const exe = `/proc/${pid}/exe`;
  let exeTarget: string | null = null;
  try {
    exeTarget = fs.readlinkSync(exe);
  } catch {
    /* another user's process: known once the permissions are checked */
  }
  return {
    pid,
    name: statusField(status, "Name") || commOf(pid),
    uids: ids("Uid"),
    gids: ids("Gid"),
    tracerPid: Number(statusField(status, "TracerPid")) || 0,
    exe,
    exeTarget,
    python: pythonVersionFromMaps(readProc(pid, "maps")),
  };
}

/** The version in a loaded libpythonX.Y.so's name (interpreters linked against it, embedders). */
function pythonVersionFromMaps(maps: string | null): [number, number, number] | null {
  const m = maps ? /\/libpython(\d+)\.(\d+)/.exec(maps) : null;
  return m ? [Number(m[1]), Number(m[2]), 0] : null;
}

function refused(message: string): UserError {
  return new UserError(message, EXIT.attachRefused);
}

/** What decides whether leakhound may attach, besides the target: who leakhound runs as, and the kernel's policy. */
export interface TracerFacts {
  uid: number;
  gid: number;
  /** leakhound has CAP_SYS_PTRACE. */
  capPtrace: boolean;
  /** /proc/sys/kernel/yama/ptrace_scope, or null without yama. */
  yamaScope: number | null;
  /** The target's environment (NUL-separated), when readable. */
  environ(pid: number): string;
  /** A process's name. */
  comm(pid: number): string;
}

export function tracerFacts(): TracerFacts {
  return {
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    capPtrace: hasPtraceCapability(),
    yamaScope: yamaScope(),
    environ: (pid) => readProc(pid, "environ") ?? "",
    comm: commOf,
  };
}

/** Throws the reason when leakhound may not (or should not) attach to the process. */
export function checkAttachable(t: TargetInfo, facts: TracerFacts = tracerFacts()): void {
  if (t.pid === process.pid) throw refused(`process ${t.pid} is leakhound itself`);
  if (facts.environ(t.pid).split("\0").some((v) => v.startsWith(`${ENV.socket}=`)))
    throw refused(`process ${t.pid} (${t.name}) is already being watched: it runs under 'leakhound run'`);
  if (t.tracerPid !== 0)
    throw refused(
      `process ${t.pid} (${t.name}) is already being traced by process ${t.tracerPid} (${facts.comm(t.tracerPid)}): ` +
        `a debugger, strace or another 'leakhound attach'; try again once it has detached`,
    );
  const { uid, gid, capPtrace: cap, yamaScope: scope } = facts;
  const sameUser = t.uids.every((u) => u === uid) && t.gids.every((g) => g === gid);
  if (!sameUser && !cap) {
    if (uid === 0)
      throw refused(
        `ptrace not permitted: leakhound runs as root without the CAP_SYS_PTRACE capability (in a container?), ` +
          `and process ${t.pid} belongs to uid ${t.uids[0]}; run the container with --cap-add=SYS_PTRACE, or attach as uid ${t.uids[0]}`,
      );
    throw refused(
      `ptrace not permitted: process ${t.pid} (${t.name}) belongs to another user (uid ${t.uids[0]}); ` +
        `run 'leakhound attach' as that user, or as root (sudo)`,
    );
  }
  if (scope === 3)
    throw refused(`ptrace not permitted: kernel.yama.ptrace_scope is 3, which forbids attaching to any process until the next reboot`);
  if (scope === 2 && !cap)
    throw refused(`ptrace not permitted: kernel.yama.ptrace_scope is 2 (only CAP_SYS_PTRACE may attach); run leakhound attach as root (sudo)`);
  if (scope === 1 && !cap)
    throw refused(
      `ptrace not permitted: kernel.yama.ptrace_scope is 1 (only a process's ancestors may attach to it); ` +
        `run leakhound attach with sudo, or allow it with 'sudo sysctl kernel.yama.ptrace_scope=0'`,
    );
}

/** Runs a command to its end: exit code, output (bounded), and whether it timed out. */
function runTool(
  cmd: string,
  args: string[],
  timeoutMs: number,
  onTimeout: (child: ReturnType<typeof spawn>) => void = (c) => c.kill("SIGKILL"),
  outputFile?: string,
): Promise<{ code: number | null; output: string; timedOut: boolean; error: NodeJS.ErrnoException | null }> {
  return new Promise((resolve) => {
    // With outputFile, the tool writes to a file and runs in a process group of its own: a
    // Ctrl-C meant for leakhound does not reach it, and it outlives a leakhound that dies
    // (gdb then finishes its script and detaches instead of dying of a closed pipe).
    const fd = outputFile === undefined ? null : fs.openSync(outputFile, "w", 0o600);
    const child = spawn(cmd, args, {
      stdio: fd === null ? ["ignore", "pipe", "pipe"] : ["ignore", fd, fd],
      env: { ...process.env, PYTHONPATH: "" },
      detached: fd !== null,
    });
    if (fd !== null) fs.closeSync(fd);
    let output = "";
    let timedOut = false;
    const take = (d: Buffer) => {
      if (output.length < 1 << 20) output += d.toString("utf8");
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
    const timer = setTimeout(() => {
      timedOut = true;
      onTimeout(child);
    }, timeoutMs);
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, output, timedOut, error });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      if (outputFile !== undefined) output = readFileOrNull(outputFile)?.slice(0, 1 << 20) ?? "";
      resolve({ code, output, timedOut, error: null });
    });
  });
}

/** The Python version the process runs, or a UserError when it is not CPython 3.8+. */
async function pythonVersion(t: TargetInfo): Promise<[number, number, number]> {
  const exeName = path.basename(t.exeTarget ?? t.name).replace(/ \(deleted\)$/, "");
  let version = t.python;
  if (PYTHON_EXE.test(exeName)) {
    // The interpreter the process runs (through /proc, so a replaced file is still the right one).
    const probe = await runTool(t.exe, ["-I", "-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], 20_000);
    const m = /^(\d+)\.(\d+)\.(\d+)/m.exec(probe.output);
    if (probe.code === 0 && m) version = [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  if (!version)
    throw new UserError(
      `process ${t.pid} (${t.name}) is not a Python process: ${t.exeTarget ?? t.name} is not a Python interpreter and loads no libpython`,
      EXIT.notObservable,
    );
  // A version read from a library name has no micro part.
  const text = version === t.python ? `${version[0]}.${version[1]}` : version.join(".");
  if (version[0] < 3 || (version[0] === 3 && version[1] < 8))
    throw new UserError(`process ${t.pid} runs Python ${text}; leakhound attach needs CPython 3.8 or newer`, EXIT.notObservable);
  return version;
}

/** The Python lines run inside the target: a private namespace, every error swallowed. */
export function injectedPython(socketPath: string, settings: object): string {
  const py = (s: string) => JSON.stringify(s);
  const dir = agentDir();
  const code = [
    "import sys",
    `d = ${py(dir)}`,
    "sys.path.insert(0, d)",
    "try:",
    "    import leakhound_agent.attach as a",
    "finally:",
    "    if d in sys.path:",
    "        sys.path.remove(d)",
    `a.start(${py(socketPath)}, ${py(JSON.stringify(settings))})`,
  ].join("\n");
  return `try:\n    exec(${py(code)}, {'__name__': '__leakhound_attach__'})\nexcept BaseException:\n    pass\n`;
}

function cString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** The gdb script: a pending call and two breakpoints where CPython may run Python code. */
export function gdbScript(python: string): string {
  return [
    "set pagination off",
    "set confirm off",
    "set unwindonsignal on",
    "sharedlibrary libc",
    "sharedlibrary libpython",
    "call (int)Py_AddPendingCall(&PyCallable_Check, (void*)0)",
    "break PyCallable_Check",
    "break PyErr_CheckSignals",
    "commands 1-2",
    "  silent",
    "  delete breakpoints",
    "  set $lh_gil = (int)PyGILState_Ensure()",
    `  set $lh_rc = (int)PyRun_SimpleStringFlags(${cString(python)}, (void*)0)`,
    "  call (void)PyGILState_Release($lh_gil)",
    '  printf "LH_INJECTED %d\\n", $lh_rc',
    "end",
    "continue",
    "delete breakpoints",
    "detach",
    "quit",
    "",
  ].join("\n");
}

export function findGdb(): string {
  const gdb = process.env.LEAKHOUND_GDB || findOnPath("gdb");
  if (!gdb || !fs.existsSync(gdb))
    throw new UserError(
      "gdb not found: leakhound attach injects its agent with gdb; install it (apt-get install gdb, or sh scripts/setup-tools.sh) or set LEAKHOUND_GDB",
      EXIT.notFound,
    );
  return gdb;
}

/** Injects through gdb; resolves once the snippet ran, throws a UserError when it could not. */
async function injectWithGdb(gdb: string, t: TargetInfo, dir: string, python: string): Promise<void> {
  const script = path.join(dir, "attach.gdb");
  fs.writeFileSync(script, gdbScript(python), { mode: 0o600 });
  const args = [
    // --readnever: the C API's ELF symbols are all it needs; reading debug info is most of the pause.
    "-p", String(t.pid), "-batch", "-nx", "--readnever",
    "-iex", "set auto-solib-add off",
    "-iex", "set debuginfod enabled off",
    "-iex", "set auto-load python-scripts off",
    "-iex", "set auto-load gdb-scripts off",
    "-x", script,
  ];
  // A main thread that never reaches Python code: gdb is interrupted (it then removes its
  // breakpoints and detaches), never killed while the target is stopped.
  const res = await runTool(gdb, args, INJECT_TIMEOUT_MS, (c) => c.kill("SIGINT"), path.join(dir, "gdb.out"));
  if (process.env.LEAKHOUND_DEBUG) process.stderr.write(`leakhound: gdb said:\n${res.output}\n`);
  if (res.error) throw new UserError(`cannot run gdb (${gdb}): ${res.error.message}`, EXIT.notFound);
  const out = res.output;
  const rc = /LH_INJECTED (-?\d+)/.exec(out);
  if (rc && rc[1] === "0") return;
  if (/ptrace: Operation not permitted|Could not attach to process/i.test(out))
    throw refused(
      `ptrace not permitted: the kernel refused to let gdb attach to process ${t.pid} ` +
        `(a seccomp filter or missing CAP_SYS_PTRACE in a container, a security module, or another user's process); ` +
        `in a container, run it with --cap-add=SYS_PTRACE`,
    );
  if (/No such process/i.test(out)) throw new UserError(`process ${t.pid} exited before leakhound could attach`, EXIT.notFound);
  if (/No symbol "(Py_AddPendingCall|PyGILState_Ensure|PyRun_SimpleStringFlags)"/.test(out))
    throw new UserError(`process ${t.pid} (${t.name}) is not a CPython process gdb can find the C API in`, EXIT.notObservable);
  if (res.timedOut)
    throw new UserError(
      `process ${t.pid} did not run any Python code within ${INJECT_TIMEOUT_MS / 1000} s ` +
        `(is its main thread blocked in a long call?); nothing was changed, try again`,
      EXIT.notObservable,
    );
  const last = out.trim().split("\n").filter((l) => /error|cannot|warning/i.test(l)).pop();
  throw new UserError(`gdb could not inject the agent into process ${t.pid}${last ? `: ${last.trim()}` : ""}`, EXIT.notObservable);
}

/** Python 3.14+ (PEP 768): the target runs the script at its next safe point. Untested here. */
async function injectWithRemoteExec(t: TargetInfo, dir: string, python: string): Promise<void> {
  const script = path.join(dir, "attach.py");
  fs.writeFileSync(script, python, { mode: 0o644 });
  const res = await runTool(t.exe, ["-I", "-S", "-c", `import sys; sys.remote_exec(${t.pid}, ${JSON.stringify(script)})`], 20_000);
  if (res.code !== 0) {
    const last = res.output.trim().split("\n").pop() ?? "";
    if (/PermissionError|Operation not permitted/.test(last)) throw refused(`ptrace not permitted: ${last}`);
    throw new UserError(`sys.remote_exec could not inject the agent into process ${t.pid}: ${last}`, EXIT.notObservable);
  }
}

/** Builds the native sampler for the target's Python ahead (the target itself never compiles). */
async function prebuildSampler(t: TargetInfo): Promise<string | null> {
  const code = `import sys; sys.path.insert(0, ${JSON.stringify(agentDir())}); from leakhound_agent.native import load; load()`;
  const res = await runTool(t.exe, ["-I", "-S", "-c", code], 180_000);
  if (res.code === 0) return null;
  const last = res.output.trim().split("\n").pop() ?? "";
  return `the native sampler could not be built for process ${t.pid}'s Python (${last || "unknown error"}); it was watched with tracemalloc`;
}

/** "3 h 12 min", "4 min 5 s", "12 s". */
export function formatAge(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s >= 86400) return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

export interface AttachResult extends SessionResult {
  /** True when the process exited (or died) while leakhound was attached. */
  targetExited: boolean;
}

function waitFor(cond: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  return new Promise((resolve) => {
    const until = Date.now() + timeoutMs;
    const tick = () => {
      if (cond()) return resolve(true);
      if (Date.now() >= until) return resolve(false);
      setTimeout(tick, everyMs);
    };
    tick();
  });
}

/** LEAKHOUND_DEBUG: how long each step of an attach took, up to the first sample (BENCHMARKS.md). */
class Steps {
  private t0 = performance.now();
  private marks: string[] = [];
  mark(step: string): void {
    this.marks.push(`${step} ${((performance.now() - this.t0) / 1000).toFixed(3)}`);
  }
  text(): string {
    return `leakhound: attach timings (s since start): ${this.marks.join(", ")}\n`;
  }
}

export async function attachSession(opts: AttachOptions): Promise<AttachResult> {
  const steps = new Steps();
  const t = inspectTarget(opts.pid);
  checkAttachable(t);
  const signals = new StopSignals();
  try {
    return await attachAndWatch(opts, t, signals, steps);
  } finally {
    signals.close();
  }
}

async function attachAndWatch(opts: AttachOptions, t: TargetInfo, signals: StopSignals, steps: Steps): Promise<AttachResult> {
  const mark = (step: string) => steps.mark(step);
  const version = await pythonVersion(t);
  const remoteExec = version[0] > 3 || (version[0] === 3 && version[1] >= 14);
  const gdb = remoteExec ? null : findGdb();
  mark("checks");
  const notes: string[] = [];
  let collector = opts.collector;
  if (collector !== "tracemalloc") {
    const failed = await prebuildSampler(t);
    if (failed) {
      notes.push(failed);
      collector = "tracemalloc";
    }
  }

  mark("sampler build");
  const hellos = new Map<number, HelloMessage>();
  const watch = await openWatch({
    ...opts,
    onHello: (h) => {
      hellos.set(h.pid, h);
      if (h.pid === t.pid) mark("hello");
      opts.onHello?.(h);
    },
    onSample: (pid, sample) => {
      if (pid === t.pid && sample.seq === 1 && process.env.LEAKHOUND_DEBUG) {
        mark("first sample");
        process.stderr.write(steps.text());
      }
      opts.onSample?.(pid, sample);
    },
  });
  const srv = watch.server;
  const st = watch.status;
  try {
    // As root attaching to another user's process: the target must reach the socket.
    const uid = process.getuid?.() ?? 0;
    if (uid === 0 && t.uids[1] !== 0) {
      for (const p of [watch.privateDir, watch.socketPath]) fs.chownSync(p, t.uids[1]!, t.gids[1]!);
    }
    const settings = { collector, intervalSec: opts.intervalSec, nframes: opts.nframes, sampleBytes: opts.sampleBytes };
    const python = injectedPython(watch.socketPath, settings);
    if (gdb) await injectWithGdb(gdb, t, watch.privateDir, python);
    else await injectWithRemoteExec(t, watch.privateDir, python);
    mark("injected");

    const greeted = () => srv.helloPids.includes(t.pid) || srv.unsupported.some((u) => u.pid === t.pid);
    await waitFor(greeted, HELLO_TIMEOUT_MS);
    const refusal = srv.unsupported.find((u) => u.pid === t.pid);
    if (refusal) {
      if (refusal.reason.startsWith(ALREADY_WATCHED)) throw refused(`process ${t.pid} (${t.name}) is already being watched: ${refusal.reason}`);
      throw new UserError(`Python ${refusal.python} cannot be observed: ${refusal.reason}`, EXIT.notObservable);
    }
    if (!srv.helloPids.includes(t.pid))
      throw new UserError(`the agent injected into process ${t.pid} did not connect (LEAKHOUND_DEBUG=1 shows gdb's output)`, EXIT.notObservable);
    st?.start();

    const end = await watchUntilEnd(opts, srv, t.pid, signals);
    st?.stop();
    let targetExited = end === "exited";
    if (!targetExited) {
      // Detach every process still connected (forked children of the target too).
      const pids = srv.connectedPids();
      for (const pid of pids) srv.detach(pid);
      const budgetMs = (opts.retainerTimeoutSec + 10) * 1000;
      const detached = await waitFor(() => pids.every((p) => !srv.isConnected(p)), budgetMs);
      if (!detached) notes.push(`the agent did not finish its detach within ${budgetMs / 1000} s; it turns itself off once leakhound is gone`);
      await srv.drain(budgetMs);
      targetExited = !fs.existsSync(`/proc/${t.pid}`);
    } else {
      await srv.drain((opts.retainerTimeoutSec + 5) * 1000);
    }
    notes.unshift(attachNote(t.pid, hellos.get(t.pid)?.attached?.afterSec ?? null));
    if (targetExited) notes.push(`process ${t.pid} exited while leakhound was attached; the report covers what was captured until then`);
    watch.close();
    const stoppedBy = targetExited ? null : "detached";
    recordEnd(opts.sink, srv, notes, { exitCode: null, signal: null, stoppedBy });
    return { exitCode: null, signal: null, stoppedBy, connected: srv.helloPids.length, notes, notObservable: null, targetExited };
  } finally {
    watch.close();
  }
}

/** "attached after 3 h 12 min; memory allocated before the attach has no site". */
export function attachNote(pid: number, afterSec: number | null): string {
  const after = afterSec === null ? "to a running process" : `after ${formatAge(afterSec)}`;
  return `attached to process ${pid} ${after}; memory allocated before the attach has no site (only what it allocated while attached is traced)`;
}

/**
 * Ctrl-C, SIGTERM and SIGHUP end an attach, from its very start: one that comes while gdb
 * injects lets gdb finish (it runs in a process group of its own), then detaches at once.
 */
class StopSignals {
  private static readonly SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  received = false;
  private listeners: (() => void)[] = [];
  private readonly onSignal = () => {
    this.received = true;
    for (const l of this.listeners.splice(0)) l();
  };

  constructor() {
    for (const s of StopSignals.SIGNALS) process.on(s, this.onSignal);
  }

  /** Calls `fn` at the first signal (now, when one came already). */
  then(fn: () => void): void {
    if (this.received) fn();
    else this.listeners.push(fn);
  }

  close(): void {
    for (const s of StopSignals.SIGNALS) process.off(s, this.onSignal);
  }
}

/** Resolves when --duration passes, the user interrupts leakhound, or the process ends. */
function watchUntilEnd(opts: WatchOptions, srv: AgentServer, pid: number, signals: StopSignals): Promise<"duration" | "signal" | "exited"> {
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (why: "duration" | "signal" | "exited") => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      clearInterval(poll);
      resolve(why);
    };
    const poll = setInterval(() => {
      if (!srv.connectedPids().includes(pid)) finish("exited");
    }, 100);
    signals.then(() => finish("signal"));
    if (opts.durationSec !== null) {
      timers.push(
        setTimeout(() => {
          if (!opts.beforeStop) return finish("duration");
          opts.beforeStop().then(() => finish("duration"), () => finish("duration"));
        }, opts.durationSec * 1000),
      );
    }
  });
}
