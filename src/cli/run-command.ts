// `leakhound run [options] -- <command…>`: record → analyse → output. The host
// runs the target and feeds the run's recorder (the one live model of the run);
// the live view, the stacks to explain at a process's exit and the final report
// all read that model. Exits with the target's own code unless told otherwise
// (decideExitCode in exit-codes.ts says how).
import os from "node:os";
import path from "node:path";
import { runSession } from "../host/session.js";
import { Recorder } from "../capture/recorder.js";
import type { Capture, ProcessCapture } from "../capture/model.js";
import { freeListTargets, nativeRetainerTargets, retainerTargets } from "../analysis/targets.js";
import { THRESHOLDS } from "../analysis/thresholds.js";
import { readSnippets } from "../capture/sources.js";
import { isUserFrame } from "../analysis/frames.js";
import { analyze } from "../analysis/analyze.js";
import type { Report } from "../report/model.js";
import { VERSION } from "../version.js";
import { escapeText, formatSec } from "../report/units.js";
import type { RunOptions } from "./commands.js";
import { EXIT, decideExitCode } from "./exit-codes.js";
import { checkOutputPaths, writeOutputs } from "./outputs.js";
import { lintCauses } from "./report-command.js";
import { LiveExplainer } from "./live-explainer.js";
import type { AgentServer } from "../host/agent-server.js";
import { ControlServer, type ControlReply } from "../host/control.js";


export function defaultCapturePath(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  return path.join(os.tmpdir(), `leakhound-${stamp}-${process.pid}.lhdb`);
}

/** The options `run` and `attach` share (commands.ts watchOptions). */
export type WatchCliOptions = Pick<
  RunOptions,
  | "out" | "json" | "html" | "quiet" | "verbose" | "collector" | "interval" | "nframes" | "sampleBytes"
  | "retainerObjects" | "retainerTimeout" | "liveExplain" | "duration" | "lint" | "sarif" | "junit" | "github"
>;

/** The capture's file and recorder; every output is checked first, so a typo costs nothing. */
export function openCapture(opts: WatchCliOptions, argv: string[]): { recorder: Recorder; capturePath: string } {
  checkOutputPaths([
    { option: "--out", file: opts.out },
    { option: "--json", file: opts.json },
    { option: "--html", file: opts.html },
    { option: "--sarif", file: opts.sarif },
    { option: "--junit", file: opts.junit },
  ]);
  const capturePath = path.resolve(opts.out ?? defaultCapturePath());
  const recorder = Recorder.toFile(capturePath, {
    leakhoundVersion: VERSION,
    createdAt: Date.now(),
    argv,
    cwd: process.cwd(),
    complete: false,
    exitCode: null,
    signal: null,
    notes: [],
  });
  return { recorder, capturePath };
}

/**
 * The targets of an exit search less the stacks (Python ones, or native ones with `native`) the search at
 * the shutdown mark found paths for (before the cleanup); unreachable ones are searched again (the exit
 * search, with the program stopped, tells why they are).
 */
function unanswered(recorder: Recorder, pid: number, native: boolean, targets: (proc: ProcessCapture) => number[]): number[] {
  const proc = recorder.process(pid);
  if (!proc) return [];
  const answered = new Set<number>();
  for (const e of proc.explanations) {
    if (e.reason !== "shutdown") continue;
    for (const r of e.results) if (Boolean(r.native) === native && r.paths.length > 0 && !r.unreachable) answered.add(r.stackId);
  }
  return targets(proc).filter((id) => !answered.has(id));
}

/** What the host needs from the command line and the recorder, for `run` and `attach` alike. */
export function watchSettings(opts: WatchCliOptions, recorder: Recorder, explainer: LiveExplainer) {
  return {
    sink: recorder,
    // Every leak the report can list may need its paths (to group leaks by cause); native leaks their owners.
    retainerTargets: (pid: number) => unanswered(recorder, pid, false, (proc) => retainerTargets(proc, THRESHOLDS.maxLeaks)),
    nativeRetainerTargets: (pid: number) =>
      unanswered(recorder, pid, true, (proc) => nativeRetainerTargets(proc, THRESHOLDS.maxLeaks)),
    freeListTargets: (pid: number, ids: number[]) => {
      const proc = recorder.process(pid);
      return proc ? freeListTargets(proc, ids) : [];
    },
    collector: opts.collector,
    intervalSec: opts.interval,
    nframes: opts.nframes,
    sampleBytes: opts.sampleBytes,
    durationSec: opts.duration ?? null,
    quiet: Boolean(opts.quiet),
    maxObjects: opts.retainerObjects,
    retainerTimeoutSec: opts.retainerTimeout,
    onServer: (server: AgentServer) => explainer.attach(server, opts.liveExplain),
  };
}

/**
 * The end of a capture: analyse it, keep the source lines around the leaks in it,
 * close it, and write the outputs. `onError` runs when the analysis fails.
 */
export async function concludeCapture(
  recorder: Recorder,
  capturePath: string,
  opts: WatchCliOptions,
  onError?: () => Promise<void>,
): Promise<Report> {
  let report: Report;
  try {
    report = analyze(recorder.snapshot(), { capturePath, leakhoundVersion: VERSION });
    // The source lines around the leaks, kept in the capture for `leakhound report`, and the
    // lines of the user's own allocation sites, which `leakhound diff` matches sites by.
    const frames = report.leaks.flatMap((l) => (l.site ? [l.site, ...l.stack.slice(0, 4)] : l.stack.slice(0, 4)));
    const seen = new Set(frames.map((f) => `${f.line}:${f.file}`));
    for (const row of report.sites) {
      const key = row.site ? `${row.site.line}:${row.site.file}` : "";
      if (row.site && isUserFrame(row.site) && !seen.has(key)) {
        seen.add(key);
        frames.push(row.site);
      }
    }
    const snippets = readSnippets(frames);
    recorder.sources(snippets);
    for (const s of snippets) report.sources[s.file] = { start: s.start, lines: s.lines };
  } catch (err) {
    await onError?.();
    throw err;
  } finally {
    recorder.close();
  }
  if (opts.lint) await lintCauses(report);
  writeOutputs(report, {
    json: opts.json,
    html: opts.html,
    sarif: opts.sarif,
    junit: opts.junit,
    github: opts.github,
    quiet: opts.quiet,
    verbose: opts.verbose,
    stream: process.stderr,
  });
  return report;
}

export async function runCommand(argv: string[], opts: RunOptions): Promise<number> {
  const { recorder, capturePath } = openCapture(opts, argv);
  let live: Awaited<ReturnType<typeof startLive>> | null = null;
  let result;
  const explainer = new LiveExplainer(recorder);
  // `leakhound explain PID` from another terminal reaches this run here.
  const control = await ControlServer.start((req) => explainOne(recorder, explainer, capturePath, req.pid));
  try {
    const view =
      opts.live || opts.liveKeep
        ? await startLive(recorder, capturePath, Boolean(opts.liveKeep), opts.liveExplain ? explainer : null)
        : null;
    live = view;
    result = await runSession({
      argv,
      ...watchSettings(opts, recorder, explainer),
      onSample: view ? () => view.dirty() : undefined,
      onHello: (hello) => control?.watch(hello.pid),
      repeat: opts.repeat,
      beforeStop: async () => {
        if (opts.liveExplain) await explainer.explainNow("before-stop");
      },
    });
  } catch (err) {
    explainer.stop();
    control?.close();
    await live?.close();
    // A command that never started leaves no capture behind.
    if (result === undefined) recorder.discard();
    else recorder.close();
    throw err;
  }

  explainer.stop();
  control?.close();
  // The report first; only then (with --live-keep) wait for the user to close the page.
  const report = await concludeCapture(recorder, capturePath, opts, async () => {
    await live?.close();
  });
  await live?.finish(report);

  if (result.notObservable && result.connected === 0) {
    process.stderr.write(`leakhound: ${escapeText(result.notObservable)}\n`);
    return EXIT.notObservable;
  }
  return decideExitCode({
    target: { exitCode: result.exitCode, signal: result.signal, stoppedBy: result.stoppedBy },
    verdict: report.verdict,
    failOnLeak: Boolean(opts.failOnLeak),
    leakExitCode: opts.leakExitCode,
  });
}

/**
 * The analysis the live view shows while the target runs. A process that has not
 * reported its exit yet is running, not one that "did not exit normally": the
 * interim analysis treats it as such (the capture is incomplete, so the report
 * stays partial; the final analysis after the target ends says what really happened).
 */
export function interimReport(capture: Capture, capturePath: string): Report {
  const running: Capture = { ...capture, processes: capture.processes.map((p) => (p.exited ? p : { ...p, exited: true, running: true })) };
  const report = analyze(running, { capturePath, leakhoundVersion: VERSION });
  report.partial = true;
  report.target.exitCode = null;
  report.target.signal = null;
  return report;
}

/** The live view: re-analyses the run's model at most once a second while data arrives. */
async function startLive(recorder: Recorder, capturePath: string, keep: boolean, explainer: LiveExplainer | null) {
  const { startLiveServer } = await import("../report/live/server.js");
  let dirty = false;
  const server = await startLiveServer({
    onExplain: explainer
      ? async () => {
          const answers = await explainer.explainNow("request");
          dirty = true;
          return explainNote(answers);
        }
      : undefined,
  });
  process.stderr.write(
    `leakhound: live view at ${server.url}${keep ? "" : " (it closes when the target ends; --live-keep keeps it up)"}\n`,
  );
  const timer = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    try {
      server.publish(interimReport(recorder.snapshot(), capturePath), false);
    } catch {
      /* a failed interim analysis costs one tick; the next one retries */
    }
  }, 1000);
  timer.unref();
  return {
    dirty: () => {
      dirty = true;
    },
    /** Publishes the final analysis; with --live-keep, waits for Ctrl-C first. Then closes the page's server. */
    finish: async (report: Report) => {
      clearInterval(timer);
      server.publish(report, true);
      if (keep) {
        process.stderr.write(`leakhound: live view shows the final report at ${server.url} — press Ctrl-C to close it\n`);
        await waitForInterrupt();
      }
      await server.close();
    },
    close: async () => {
      clearInterval(timer);
      await server.close();
    },
  };
}

/** `leakhound explain PID`: a search of that process now, then the analysis of its leaks so far. */
export async function explainOne(recorder: Recorder, explainer: LiveExplainer, capturePath: string, pid: number): Promise<ControlReply> {
  if (!recorder.process(pid)) return { ok: false, error: `process ${pid} has not connected to this leakhound run` };
  const [answer] = await explainer.explainNow("request", pid);
  if (!answer) return { ok: false, error: `process ${pid} is no longer running` };
  const report = interimReport(recorder.snapshot(), capturePath);
  const mine = (l: Report["leaks"][number]) => l.pid === pid || Boolean(l.processes?.some((p) => p.pid === pid));
  report.leaks = report.leaks.filter(mine);
  report.processes = report.processes.filter((p) => p.pid === pid);
  report.sites = report.sites.filter((s) => s.pid === pid);
  if (answer.note) report.notes = [...report.notes, answer.note];
  return { ok: true, report };
}

/** What came of an "Explain now", in one sentence. */
function explainNote(answers: Awaited<ReturnType<LiveExplainer["explainNow"]>>): string {
  if (answers.length === 0) return "no process is running under leakhound now";
  const done = answers.filter((a) => a.explanation);
  if (done.length === 0) return answers[0]!.note ?? "nothing was explained";
  const secs = Math.max(...done.map((a) => a.explanation!.elapsedSec));
  return `explained ${done.length} of ${answers.length} process${answers.length > 1 ? "es" : ""} in ${formatSec(secs)}; the leaks below show what keeps them alive`;
}

function waitForInterrupt(): Promise<void> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    const done = () => {
      for (const s of signals) process.off(s, done);
      resolve();
    };
    for (const s of signals) process.on(s, done);
  });
}
