// The capture model: everything one `leakhound run` recorded, in memory.
// Collectors feed it (through the agent protocol), the SQLite store persists it,
// and the analysis reads only this.
import type { CollectorInfo, Frame, RetainerResult, TestMessage } from "../protocol/messages.js";

/** One run of one test, as the agent's pytest plugin measured it (TestMessage without its type). */
export type TestRun = Omit<TestMessage, "type">;

/**
 * "leakhound" when leakhound stopped the target itself (--duration); "detached" when
 * `leakhound attach` detached and left the process running; null otherwise.
 */
export type StoppedBy = "leakhound" | "detached" | null;

export interface CaptureMeta {
  /** Format version of the .lhdb file. */
  format: number;
  leakhoundVersion: string;
  createdAt: number; // epoch ms
  /** The command the user asked leakhound to run. */
  argv: string[];
  cwd: string;
  /** False while running, or when the run was cut short (leakhound killed). */
  complete: boolean;
  /** Exit code / signal of the top-level command, when known. */
  exitCode: number | null;
  signal: string | null;
  /** "leakhound" when leakhound stopped the target itself (--duration). */
  stoppedBy?: StoppedBy;
  /** Things the user should know about the capture itself (injection failed, agent fell back, …). */
  notes: string[];
}

export interface SamplePoint {
  seq: number;
  /** Seconds since the process's agent started. */
  t: number;
  rss: number;
  heap: number;
  overhead: number;
  gcEnabled: boolean;
  otherBytes: number;
  cost: number;
  /** The process's threads (absent: not reported, as by older agents). */
  threads?: number;
}

/** One allocation stack's series, aligned with ProcessCapture.samples (NaN = not reported). */
export interface SiteSeries {
  stackId: number;
  bytes: Float64Array;
  count: Float64Array;
  /**
   * Writes the series into caller-owned arrays (length ≥ the sample count) without
   * allocating, for a model that keeps change points (the recorder); absent for
   * dense series.
   */
  fill?(bytes: Float64Array, count: Float64Array): void;
  /** The last reported count (0 before any), without making the series dense; from change points only. */
  lastCount?: number;
  /** The part of `bytes` that went onto CPython's free lists (0 where unknown); only for sites that had some. */
  freeListBytes?: Float64Array;
  /** FREE_LIST bits (protocol/messages.ts): which free lists. */
  freeListKinds?: number;
}

/**
 * Why a retainer search ran: at the process's orderly exit; while it ran, because the
 * analysis became sure of a leak ("live"); asked for by the user (the live view's
 * "Explain now", `leakhound explain PID`); or right before --duration stopped it.
 */
export type ExplainReason = "exit" | "live" | "request" | "before-stop" | "shutdown";

/**
 * A moment the program stopped working and began to shut down, on the process's sample clock:
 * marked by the agent (the main thread finished, its other threads finished, atexit began) or by
 * the host (it sent the SIGINT of --duration). analysis/shutdown.ts picks the one that counts.
 */
export interface ShutdownMark {
  t: number;
  what: "main-end" | "threads-end" | "atexit" | "signal";
}

/** One answer of the agent's retainer search, with when it was taken. */
export interface Explanation {
  reason: ExplainReason;
  /** When the search started, in seconds on the process's sample clock (null: not known, older captures). */
  t: number | null;
  /** When the host received it (epoch ms; null: not known). */
  at: number | null;
  results: RetainerResult[];
  /** Objects the walk visited, its seconds, and whether it stopped at its budget. */
  visited: number;
  elapsedSec: number;
  truncated: boolean;
}

export interface ProcessCapture {
  pid: number;
  ppid: number;
  python: string;
  executable: string;
  argv: string[];
  cwd: string;
  startedAt: number;
  collector: CollectorInfo;
  /** Exit status of this process when it is the direct child; null for grandchildren or unknown. */
  exitCode: number | null;
  signal: string | null;
  stacks: Map<number, Frame[]>;
  samples: SamplePoint[];
  sites: Map<number, SiteSeries>;
  /** Native (malloc-level) sampled series, when a native shim ran. */
  nativeSites: Map<number, SiteSeries>;
  /** stackId → per-sample hits of a thread running that stack (sparse: [sampleIndex, hits]). */
  active: Map<number, [number, number][]>;
  /** Every retainer search's answer, oldest first. */
  explanations: Explanation[];
  /** Test runs in the order they ended (a pytest session; empty otherwise). */
  tests: TestRun[];
  /** When the program began to shut down, as marked (oldest first); empty when not known. */
  shutdown?: ShutdownMark[];
  /** Agent log lines (warnings about the target, fallbacks). */
  logs: { level: string; message: string }[];
  /** True when the agent reported an orderly exit. */
  exited: boolean;
  /** Set on the copies the live analysis reads: the process runs on (no end to speak of yet). */
  running?: boolean;
}

export interface SourceSnippet {
  file: string;
  start: number;
  lines: string[];
}

export interface Capture {
  meta: CaptureMeta;
  processes: ProcessCapture[];
  /** Interpreters that connected but could not be served. */
  unsupported: { pid: number; python: string; reason: string }[];
  /** Source lines around leak sites, captured at the end of the run. */
  sources: Map<string, SourceSnippet>;
}

export function emptyProcess(pid: number): ProcessCapture {
  return {
    pid,
    ppid: 0,
    python: "",
    executable: "",
    argv: [],
    cwd: "",
    startedAt: 0,
    collector: { name: "unknown", intervalSec: 0, nframes: 0, sampleBytes: 0 },
    exitCode: null,
    signal: null,
    stacks: new Map(),
    samples: [],
    sites: new Map(),
    nativeSites: new Map(),
    active: new Map(),
    explanations: [],
    tests: [],
    shutdown: [],
    logs: [],
    exited: false,
  };
}
