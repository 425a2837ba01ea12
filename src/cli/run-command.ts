// `leakhound run [options] -- <command…>`: run a Python program with the agent,
// then analyse and report. Exits with the target's own code unless told otherwise.
import os from "node:os";
import path from "node:path";
import { runSession } from "../host/session.js";
import { readCapture } from "../capture/store.js";
import { readSnippets } from "../capture/sources.js";
import { analyze } from "../analysis/analyze.js";
import type { Report } from "../report/model.js";
import { VERSION } from "../version.js";
import { EXIT, exitCodeForSignal } from "./exit-codes.js";
import { writeOutputs } from "./outputs.js";

export interface RunOptions {
  json?: string;
  html?: string;
  out?: string;
  duration?: number;
  failOnLeak?: boolean;
  quiet?: boolean;
  collector: string;
  interval: number;
  nframes: number;
  sampleBytes: number;
  retainerObjects: number;
  retainerTimeout: number;
  live?: boolean;
}

export function defaultCapturePath(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  return path.join(os.tmpdir(), `leakhound-${stamp}-${process.pid}.lhdb`);
}

export async function runCommand(argv: string[], opts: RunOptions): Promise<number> {
  const capturePath = path.resolve(opts.out ?? defaultCapturePath());
  const live = opts.live ? await startLive(capturePath) : null;
  const result = await runSession({
    argv,
    capturePath,
    collector: opts.collector,
    intervalSec: opts.interval,
    nframes: opts.nframes,
    sampleBytes: opts.sampleBytes,
    durationSec: opts.duration ?? null,
    quiet: Boolean(opts.quiet),
    maxObjects: opts.retainerObjects,
    retainerTimeoutSec: opts.retainerTimeout,
    onSample: live ? () => live.dirty() : undefined,
  });

  let report: Report;
  try {
    const capture = readCapture(capturePath);
    report = analyze(capture, { capturePath, leakhoundVersion: VERSION });
    const frames = report.leaks.flatMap((l) => (l.site ? [l.site, ...l.stack.slice(0, 4)] : l.stack.slice(0, 4)));
    const snippets = readSnippets(frames);
    result.writer.sources(snippets);
    for (const s of snippets) report.sources[s.file] = { start: s.start, lines: s.lines };
  } finally {
    result.writer.close();
  }
  await live?.finish(report);

  writeOutputs(report, { json: opts.json, html: opts.html, quiet: opts.quiet, stream: process.stderr });

  if (result.notObservable && result.connected === 0) {
    process.stderr.write(`leakhound: ${result.notObservable}\n`);
    return EXIT.notObservable;
  }
  const targetCode = result.signal ? exitCodeForSignal(result.signal) : (result.exitCode ?? EXIT.internal);
  if (opts.failOnLeak && report.verdict === "leak" && targetCode === 0) return EXIT.leakFound;
  return targetCode;
}

/** The live view: re-analyses the capture at most once a second while data arrives. */
async function startLive(capturePath: string) {
  const { startLiveServer } = await import("../report/live/server.js");
  const server = await startLiveServer({});
  process.stderr.write(`leakhound: live view at ${server.url}\n`);
  let dirty = false;
  const timer = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    try {
      server.publish(analyze(readCapture(capturePath), { capturePath, leakhoundVersion: VERSION }), false);
    } catch {
      /* the capture may be mid-write; the next tick retries */
    }
  }, 1000);
  timer.unref();
  return {
    dirty: () => {
      dirty = true;
    },
    finish: async (report: Report) => {
      clearInterval(timer);
      server.publish(report, true);
      process.stderr.write(`leakhound: live view shows the final report at ${server.url} — press Ctrl-C to close it\n`);
      await waitForInterrupt();
      await server.close();
    },
  };
}

function waitForInterrupt(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}
