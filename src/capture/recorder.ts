// The one live model of a run. The host feeds every agent message to a Recorder,
// which applies it to an in-memory Capture and writes it through to the capture
// file; the live view, the choice of stacks to explain at a process's exit and
// the final report all read `snapshot()`, so nothing re-reads the file during a
// run. `leakhound report` reads a saved file into the same Capture model
// (store.ts readCapture), with the same values: byte and count figures are
// rounded here as the file rounds them.
//
// Site series are kept as change points (typed arrays that grow by doubling); a
// snapshot's series are made dense only when the analysis reads them.
import type { ActiveTuple, Frame, HelloMessage, SampleMessage, TestMessage } from "../protocol/messages.js";
import { Columns } from "./columns.js";
import { emptyProcess, type Capture, type CaptureMeta, type Explanation, type ProcessCapture, type ShutdownMark, type SourceSnippet } from "./model.js";
import { CAPTURE_FORMAT, CaptureWriter } from "./store.js";

/** What the host feeds: one method per kind of agent message, plus the run's own facts. */
export interface CaptureSink {
  setMeta(key: keyof CaptureMeta, value: unknown): void;
  hello(msg: HelloMessage): void;
  unsupported(pid: number, python: string, reason: string): void;
  stacks(pid: number, stacks: { id: number; frames: Frame[] }[]): void;
  sample(pid: number, msg: SampleMessage): void;
  log(pid: number, level: string, message: string): void;
  explanation(pid: number, explanation: Explanation): void;
  test(pid: number, msg: TestMessage): void;
  /** The program began to shut down (ShutdownMark). */
  shutdown(pid: number, mark: ShutdownMark): void;
  /** The host is about to stop the target itself (--duration): its shutdown begins now. */
  stopSignalSent?(): void;
  processEnded(pid: number, exitCode: number | null, signal: string | null, orderly: boolean): void;
  sources(snippets: SourceSnippet[]): void;
}

class ProcessModel {
  readonly proc: ProcessCapture;
  private lastSeq = -Infinity;
  /** When the last sample arrived (epoch ms), to place a host event on the process's clock. */
  lastSampleAt = 0;
  readonly sites = new Columns();
  readonly native = new Columns();

  constructor(pid: number) {
    this.proc = emptyProcess(pid);
  }

  sample(msg: SampleMessage): void {
    if (msg.seq <= this.lastSeq) return; // the file keeps one row per sequence number
    this.lastSeq = msg.seq;
    const index = this.proc.samples.length;
    this.lastSampleAt = Date.now();
    this.proc.samples.push({
      seq: msg.seq,
      t: msg.t,
      rss: Math.round(msg.rss),
      heap: Math.round(msg.heap),
      overhead: Math.round(msg.overhead),
      gcEnabled: msg.gcEnabled,
      otherBytes: Math.round(msg.otherBytes),
      cost: msg.cost,
      ...(typeof msg.threads === "number" ? { threads: msg.threads } : {}),
    });
    this.sites.apply(index, msg.sites);
    this.native.apply(index, msg.native ?? []);
    for (const [id, hits] of msg.active as ActiveTuple[]) {
      let list = this.proc.active.get(id);
      if (!list) this.proc.active.set(id, (list = []));
      list.push([index, Math.max(0, Math.round(hits))]);
    }
  }

  /** The process as the analysis reads it: series are views of the samples so far. */
  snapshot(): ProcessCapture {
    const n = this.proc.samples.length;
    return {
      ...this.proc,
      samples: this.proc.samples.slice(),
      sites: this.sites.view(n),
      nativeSites: this.native.view(n),
      active: new Map([...this.proc.active].map(([id, hits]) => [id, hits.slice()])),
      logs: this.proc.logs.slice(),
      explanations: this.proc.explanations.slice(),
      tests: this.proc.tests.slice(),
      shutdown: (this.proc.shutdown ?? []).slice(),
      stacks: new Map(this.proc.stacks),
    };
  }
}

export class Recorder implements CaptureSink {
  private readonly processes = new Map<number, ProcessModel>();
  private readonly meta: CaptureMeta;
  private readonly unsupportedList: Capture["unsupported"] = [];
  private readonly sourceMap = new Map<string, SourceSnippet>();

  /** `writer`: where every message is written through (null: in memory only). */
  constructor(
    meta: Omit<CaptureMeta, "format">,
    private writer: CaptureWriter | null,
  ) {
    this.meta = { format: CAPTURE_FORMAT, ...meta, notes: [...meta.notes] };
  }

  /** A recorder writing through to a new capture file at `path`. */
  static toFile(path: string, meta: Omit<CaptureMeta, "format">): Recorder {
    return new Recorder(meta, new CaptureWriter(path, meta));
  }

  private model(pid: number): ProcessModel {
    let m = this.processes.get(pid);
    if (!m) this.processes.set(pid, (m = new ProcessModel(pid)));
    return m;
  }

  setMeta(key: keyof CaptureMeta, value: unknown): void {
    (this.meta as unknown as Record<string, unknown>)[key] = Array.isArray(value) ? [...value] : value;
    this.writer?.setMeta(key, value);
  }

  hello(msg: HelloMessage): void {
    const p = this.model(msg.pid).proc;
    Object.assign(p, {
      ppid: msg.ppid,
      python: msg.python,
      executable: msg.executable,
      argv: msg.argv,
      cwd: msg.cwd,
      startedAt: msg.startedAt,
      collector: msg.collector,
    });
    this.writer?.hello(msg);
  }

  unsupported(pid: number, python: string, reason: string): void {
    this.unsupportedList.push({ pid, python, reason });
    this.writer?.unsupported(pid, python, reason);
  }

  stacks(pid: number, stacks: { id: number; frames: Frame[] }[]): void {
    const p = this.model(pid).proc;
    for (const s of stacks) p.stacks.set(s.id, s.frames);
    this.writer?.stacks(pid, stacks);
  }

  sample(pid: number, msg: SampleMessage): void {
    this.model(pid).sample(msg);
    this.writer?.sample(pid, msg);
  }

  log(pid: number, level: string, message: string): void {
    this.model(pid).proc.logs.push({ level, message });
    this.writer?.log(pid, level, message);
  }

  explanation(pid: number, explanation: Explanation): void {
    this.model(pid).proc.explanations.push(explanation);
    this.writer?.explanation(pid, explanation);
  }

  test(pid: number, msg: TestMessage): void {
    const { type: _type, ...run } = msg;
    this.model(pid).proc.tests.push(run);
    this.writer?.test(pid, msg);
  }

  shutdown(pid: number, mark: ShutdownMark): void {
    (this.model(pid).proc.shutdown ??= []).push(mark);
    this.writer?.shutdown(pid, mark);
  }

  /**
   * The host is about to stop the target (--duration's SIGINT): marks the shutdown of every
   * process still running, at the moment on its own clock (its last sample's time plus the
   * time since that sample arrived).
   */
  stopSignalSent(now = Date.now()): void {
    for (const [pid, m] of this.processes) {
      const last = m.proc.samples[m.proc.samples.length - 1];
      if (!last || m.proc.exited) continue;
      const t = Math.round((last.t + Math.max(0, now - m.lastSampleAt) / 1000) * 1e6) / 1e6;
      this.shutdown(pid, { t, what: "signal" });
    }
  }

  processEnded(pid: number, exitCode: number | null, signal: string | null, orderly: boolean): void {
    const p = this.model(pid).proc;
    if (exitCode !== null) p.exitCode = exitCode;
    if (signal !== null) p.signal = signal;
    p.exited = p.exited || orderly;
    this.writer?.processEnded(pid, exitCode, signal, orderly);
  }

  sources(snippets: SourceSnippet[]): void {
    for (const s of snippets) this.sourceMap.set(s.file, s);
    this.writer?.sources(snippets);
  }

  /** One process as the analysis reads it, or null when it never said hello or sent anything. */
  process(pid: number): ProcessCapture | null {
    return this.processes.get(pid)?.snapshot() ?? null;
  }

  /**
   * The run so far, as the analysis reads it. Processes that never said hello (only
   * their messages arrived) are left out, as the file reader leaves them out.
   */
  snapshot(): Capture {
    const processes = [...this.processes.values()].filter((m) => m.proc.startedAt !== 0 || m.proc.python !== "").map((m) => m.snapshot());
    return {
      meta: { ...this.meta, notes: [...this.meta.notes] },
      processes,
      unsupported: [...this.unsupportedList],
      sources: new Map(this.sourceMap),
    };
  }

  /** Folds the capture file into one self-contained file; the model stays readable. */
  close(): void {
    this.writer?.close();
    this.writer = null;
  }

  /** Closes and deletes the capture file (a run that never started holds nothing worth keeping). */
  discard(): void {
    const path = this.writer?.path;
    this.close();
    if (path) CaptureWriter.remove(path);
  }
}
