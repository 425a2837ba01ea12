// `leakhound run [options] -- <command…>`: record → analyse → output. The host
// runs the target and feeds the run's recorder (the one live model of the run);
// the live view, the stacks to explain at a process's exit and the final report
// all read that model. Exits with the target's own code unless told otherwise
// (decideExitCode in exit-codes.ts says how).
import os from "node:os";
import path from "node:path";
import { runSession } from "../host/session.js";
import { Recorder } from "../capture/recorder.js";
import type { Capture } from "../capture/model.js";
import { retainerTargets } from "../analysis/targets.js";
import { readSnippets } from "../capture/sources.js";
import { analyze } from "../analysis/analyze.js";
import type { Report } from "../report/model.js";
import { VERSION } from "../version.js";
import { escapeText } from "../report/units.js";
import type { RunOptions } from "./commands.js";
import { EXIT, decideExitCode } from "./exit-codes.js";
import { checkOutputPaths, writeOutputs } from "./outputs.js";
import { lintCauses } from "./report-command.js";


export function defaultCapturePath(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  return path.join(os.tmpdir(), `leakhound-${stamp}-${process.pid}.lhdb`);
}

export async function runCommand(argv: string[], opts: RunOptions): Promise<number> {
  // Every output is checked before the target starts, so a typo costs nothing.
  checkOutputPaths([
    { option: "--out", file: opts.out },
    { option: "--json", file: opts.json },
    { option: "--html", file: opts.html },
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
  let live: Awaited<ReturnType<typeof startLive>> | null = null;
  let result;
  try {
    const view = opts.live || opts.liveKeep ? await startLive(recorder, capturePath, Boolean(opts.liveKeep)) : null;
    live = view;
    result = await runSession({
      argv,
      sink: recorder,
      retainerTargets: (pid) => {
        const proc = recorder.process(pid);
        return proc ? retainerTargets(proc) : [];
      },
      collector: opts.collector,
      intervalSec: opts.interval,
      nframes: opts.nframes,
      sampleBytes: opts.sampleBytes,
      durationSec: opts.duration ?? null,
      quiet: Boolean(opts.quiet),
      maxObjects: opts.retainerObjects,
      retainerTimeoutSec: opts.retainerTimeout,
      onSample: view ? () => view.dirty() : undefined,
    });
  } catch (err) {
    await live?.close();
    // A command that never started leaves no capture behind.
    if (result === undefined) recorder.discard();
    else recorder.close();
    throw err;
  }

  let report: Report;
  try {
    report = analyze(recorder.snapshot(), { capturePath, leakhoundVersion: VERSION });
    // The source lines around the leaks, kept in the capture for `leakhound report`.
    const frames = report.leaks.flatMap((l) => (l.site ? [l.site, ...l.stack.slice(0, 4)] : l.stack.slice(0, 4)));
    const snippets = readSnippets(frames);
    recorder.sources(snippets);
    for (const s of snippets) report.sources[s.file] = { start: s.start, lines: s.lines };
  } catch (err) {
    await live?.close();
    throw err;
  } finally {
    recorder.close();
  }

  if (opts.lint) await lintCauses(report);
  // The report first; only then (with --live-keep) wait for the user to close the page.
  writeOutputs(report, { json: opts.json, html: opts.html, quiet: opts.quiet, verbose: opts.verbose, stream: process.stderr });
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
  const running: Capture = { ...capture, processes: capture.processes.map((p) => (p.exited ? p : { ...p, exited: true })) };
  const report = analyze(running, { capturePath, leakhoundVersion: VERSION });
  report.partial = true;
  report.target.exitCode = null;
  report.target.signal = null;
  return report;
}

/** The live view: re-analyses the run's model at most once a second while data arrives. */
async function startLive(recorder: Recorder, capturePath: string, keep: boolean) {
  const { startLiveServer } = await import("../report/live/server.js");
  const server = await startLiveServer({});
  process.stderr.write(
    `leakhound: live view at ${server.url}${keep ? "" : " (it closes when the target ends; --live-keep keeps it up)"}\n`,
  );
  let dirty = false;
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
