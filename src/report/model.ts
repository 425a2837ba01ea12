// The report model (`leakhound/report@1`): what the analysis produces and every
// output (terminal, JSON, HTML) reads. report.schema.json in this folder is the
// JSON Schema of the same shape, checked by tests.
import type { CollectorInfo, Frame } from "../protocol/messages.js";

export const REPORT_SCHEMA = "leakhound/report@1";

export type Verdict = "leak" | "no-leak" | "inconclusive";

export interface RetainerReport {
  /** The root in words, e.g. "module __main__". */
  root: string;
  rootKind: string;
  /** Steps after the root. */
  path: string[];
  /** The whole path as one line: "module app.cache → _CACHE (dict, 12,034 items) → value → Record.body (str)". */
  text: string;
  /**
   * Live objects retained along this path: counted in the containers the walk reached when `exact`,
   * else estimated from the stack's sampled objects, each weighted by its own sampling probability.
   */
  objects: number;
  /** Bytes of those objects (shallow, as sys.getsizeof). */
  bytes: number;
  /** One standard error of `objects` (absent when exact, or when unknown: `approximate`). */
  objectsError?: number;
  /** One standard error of `bytes`. */
  bytesError?: number;
  /** The figures were counted in the containers the walk reached, not estimated. */
  exact?: boolean;
  /**
   * The capture's agent sent no estimate (older capture): the stack's live objects and bytes were
   * split among its paths by their share of the sampled objects, with no error bound.
   */
  approximate?: boolean;
  /** Paths were traced for `explained` of the `sampled` objects found at the stack(s); the figures are scaled from them. */
  traced?: { explained: number; sampled: number };
  /** The first container on the path that holds at most `limit` items (deque maxlen, bounded lru_cache): `size` when searched, at `path[step]`. */
  bound?: { limit: number; size: number; step: number };
}

/** One process's part of a leak found in several processes running the same code. */
export interface LeakProcess {
  pid: number;
  growthBytes: number;
  growthBytesPerSec: number;
  liveBytes: number;
  confidence: number;
  /** Its largest retainer path, or why it has none. */
  retainer?: string;
}

/** When a leak's reference paths were found, when it was not at the process's exit. */
export interface ExplainedAt {
  reason: "live" | "request" | "before-stop" | "exit" | "shutdown";
  /** Seconds on the process's clock (the samples' t). */
  t: number;
  /** Seconds from then to the process's last sample. */
  beforeEndSec: number;
  /** "explained while it ran at 00:41, 19 s before the process was killed" */
  text: string;
}

export interface NativeOwnerReport {
  /**
   * "pointer": the owners' memory (or malloc blocks it points to) holds the blocks' addresses;
   * "stack": none does, and the objects made at the same stack (whose construction allocated
   * the blocks) stand for them.
   */
  by: "pointer" | "stack";
  /** By type, most native memory first (by pointer; by stack the paths say who they are). */
  types: { type: string; desc: string; objects: number; bytes: number }[];
  /**
   * By pointer: the share (0-1) of the stack's native memory the owners' pointers reach; the rest lies
   * deeper than the chains are followed (an lxml tree's nodes) or belongs to no Python object.
   */
  reached?: number;
}

export interface LeakReport {
  rank: number;
  kind: "python" | "native";
  pid: number;
  /** Allocation site: the innermost frame that is the user's code. */
  site: Frame | null;
  /** Innermost first. */
  stack: Frame[];
  /** Retained growth over the analysed window (after warm-up), and its trend; the evidence prints the same rate. */
  growthBytes: number;
  growthBytesPerSec: number;
  liveBytes: number;
  /** Live allocations (memory blocks) at the end: a Python object is one or two blocks (e.g. a list and its item array). */
  liveCount: number;
  confidence: number;
  /** One sentence of evidence, e.g. "grew in 11 of 12 intervals, +2.1 MB/s, no plateau". */
  evidence: string;
  unreachable: boolean;
  /** Why it is unreachable, or why no path is given. */
  retainerNote?: string;
  retainers: RetainerReport[];
  /**
   * Set when processes running the same code (pool workers, prefork servers) leak at this
   * site: the figures above are their totals, `processes` has each one's.
   */
  group?: { leaking: number; of: number; label: string };
  processes?: LeakProcess[];
  /** Set when the paths come from a search taken while the process ran (not at its exit). */
  explainedAt?: ExplainedAt;
  /**
   * Set when the growth was judged on the samples taken while the program worked and its
   * memory was released only once the program began to shut down (analysis/shutdown.ts).
   */
  freedAtExit?: FreedAtExit;
  /**
   * A native leak whose malloc blocks Python objects own (ndarrays, PIL images, compressors):
   * who they are and the native memory they hold. `retainers` are then the paths to those
   * owners, each path's objects the owners on it and its bytes the native memory they hold.
   */
  owner?: NativeOwnerReport;
  /** Stack id in the capture, for cross-reference. */
  stackId: number;
  /** Live bytes of this site over time: [t, bytes] pairs. */
  series: [number, number][];
  /**
   * Of liveBytes, the memory whose objects died onto CPython's free lists (`freeLists`), still
   * allocated: objects made by other lines reuse it (the sampling collector; absent when none).
   */
  freeListBytes?: number;
  freeLists?: FreeListKind[];
  /**
   * Most of the growth is such memory: objects made elsewhere from this site's free-list memory
   * are what accumulates, so the lines that made them are the real sites; ranked after those.
   */
  reusedFromFreeList?: boolean;
  /** In a pytest session: the tests whose runs kept memory at this leak's stack, most first. */
  tests?: { id: string; bytes: number; runs: number }[];
  /** With --lint: the `leakhound lint` findings that explain this leak (its line, or the container holding it). */
  causes?: LeakCause[];
  /** A standard library table its paths go through (logging's loggers, warnings' registry, an unbounded lru_cache): why it holds them, and the fix (analysis/holders.ts). */
  holder?: LeakHolder;
  /** The id of the cause this site's leak is part of (Report.causes). */
  cause?: string;
  /**
   * Native growth that no sampled allocation accounts for (set only then; `site` is null and
   * `stack` empty): what is known instead of a place.
   */
  unattributed?: UnattributedGrowth;
}

/**
 * RSS grew beyond the Python heap and no allocation was sampled for it (no malloc shim, or
 * memory the shim cannot see: mmap, an allocator of its own). The lines are those the stack
 * samples saw running while RSS rose; running is not allocating, so they are candidates only.
 */
export interface UnattributedGrowth {
  /** The window the growth was measured over, seconds since start, and its rate. */
  fromSec: number;
  toSec: number;
  bytesPerSec: number;
  /** Why no allocation accounts for it, in words. */
  why: string;
  /** Stack samples taken while RSS rose, and in the rest of the window. */
  samples: number;
  samplesFlat: number;
  candidates: RunningCandidate[];
  /** "weak": candidates from what ran; "none": no stack was sampled while it grew. */
  evidence: "weak" | "none";
}

/** A line seen running while native memory grew. */
export interface RunningCandidate {
  site: Frame;
  /** Innermost first: the stack seen most often at that line. */
  stack: Frame[];
  /** Of the stack samples taken while RSS rose: how many were at this line, and the share. */
  samples: number;
  share: number;
  /** Its share of the samples taken while RSS did not rise (null when there were none). */
  shareWhileFlat: number | null;
}

/** A stack where a test's runs kept memory. */
export interface TestSite {
  stackId: number;
  site: Frame | null;
  /** Innermost first (the first frames only). */
  stack: Frame[];
  bytes: number;
}

/**
 * A test (its parametrized cases together: "tests/test_orders.py::test_checkout[*]") that kept
 * memory after its teardown and a collection, as the agent's pytest plugin measured it.
 */
export interface TestReport {
  id: string;
  pid: number;
  /** Runs measured: its cases, each as often as --repeat said. */
  runs: number;
  /** Distinct node ids (parametrized cases). */
  cases: number;
  /**
   * "leak": its runs after the first kept memory too; "first-run": only its first run kept memory
   * (a cache fill, an import); "once": it ran once and kept memory (--repeat tells which).
   */
  verdict: "leak" | "first-run" | "once";
  /** Net bytes kept by all its runs (pytest's own records left out). */
  keptBytes: number;
  firstRunBytes: number;
  /** Mean bytes kept per run after the first (0 when it ran once). */
  bytesPerRun: number;
  /** One standard error of bytesPerRun (a sampling collector). */
  bytesPerRunError?: number;
  /** Runs that failed (or errored). */
  failed: number;
  /** Where the kept memory was allocated, most first. */
  sites: TestSite[];
  evidence: string;
  /** Its `@pytest.mark.leakhound(max_retained=…)` in bytes, and how many runs kept more. */
  maxRetained?: number;
  overLimit?: number;
}

/** pytest's own per-test records (its report objects and the like): a session's growth that is not the suite's leak. */
export interface TestRunnerRecords {
  tests: number;
  bytes: number;
  bytesPerTest: number;
  countPerTest: number;
  /** The collector measured totals only: the median test run's figure stands for the runner's share. */
  estimated?: boolean;
}

/**
 * One leak as the user counts them: the allocation sites whose objects one reference path
 * prefix keeps alive (the same root and container), or one site no path explains
 * (analysis/causes.ts). The headline counts these, not sites.
 */
export interface CauseReport {
  /** "C1", "C2", …: what LeakReport.cause refers to. */
  id: string;
  rank: number;
  /** "module app → _REQUEST_LOG keeps RequestContext objects", or the site when no path explains it. */
  label: string;
  /** A reference path explains it (false: a site that is a finding of its own). */
  explained: boolean;
  /** The path's root, and the steps every site's path shares (names without figures). */
  root: string | null;
  path: string[];
  /** Ranks of its leaks (sites) in Report.leaks. */
  leaks: number[];
  /** Allocation sites (leaks) it holds. */
  sites: number;
  growthBytes: number;
  growthBytesPerSec: number;
  liveBytes: number;
  confidence: number;
  /** Every site's memory was freed only at exit. */
  freedAtExit?: boolean;
}

/** A leak whose memory was freed only while the program shut down: still a leak. */
export interface FreedAtExit {
  /** When the shutdown began, on the process's clock (seconds). */
  t: number;
  /** What marked it: the main thread's end, the last threads' end, atexit, or leakhound's SIGINT. */
  what: "main-end" | "threads-end" | "atexit" | "signal";
  /** Bytes of the leak's memory released after the cut. */
  freedBytes: number;
  /** "freed only at exit: 4.1 MiB was released after the main thread finished at 00:06" */
  text: string;
}

/** A lint finding beside the leak it explains. */
export interface LeakCause {
  rule: string;
  file: string;
  line: number;
  column: number;
  /** Why it leaks, one sentence. */
  message: string;
  fix: string;
  /** "site": the leak's allocation site or stack is the finding's line; "retainer": a reference path starts at its container. */
  via: "site" | "retainer";
}

/** A standard library table that keeps a leak's objects: what it keeps and why, and how to stop it. */
export interface LeakHolder {
  /** "logging-loggers", "logging-handlers", "logging-buffer", "warnings-registry", "lru-cache-method", "lru-cache", "stored-traceback", "gc-garbage", "context-var", "asyncio-timers", "done-tasks", "done-futures", "done-threads", "running-threads", "suspended-generators", "weak-key-kept", "mock-patches", "exit-stack", "itertools-tee", "mock-calls", "weakref-finalize", "unbounded-queue", "defaultdict-reads", "warnings-filters", "sys-path", "memoryview-slice", "sys-modules", "numpy-view". */
  id: string;
  /** One sentence: what the library keeps, and why it grows. */
  what: string;
  fix: string;
}

export type FreeListKind = "dict" | "list" | "tuple" | "float";

export interface MemoryFigures {
  start: number;
  end: number;
  peak: number;
  /** Bytes per second over the analysed window (robust slope). */
  ratePerSec: number;
}

/**
 * Growth into a container that holds at most so many items (a deque's maxlen, a bounded lru_cache)
 * and was not full: it levels off when full (src/analysis/bounded.ts). Not a leak unless `leak`.
 */
export interface BoundedGrowth {
  pid: number;
  site: Frame | null;
  stackId: number;
  /** "module __main__ → HISTORY": the path to the container. */
  container: string;
  limit: number;
  /** Its items when the retainers were searched. */
  size: number;
  liveBytes: number;
  growthBytesPerSec: number;
  /** The site's memory when the container is full (items as big as now). */
  projectedBytes: number;
  /** The bound is more memory than a process can spend: reported as a leak all the same. */
  leak: boolean;
  /** "module __main__ → HISTORY (deque, at most 200,000) holds 16,346 now: … levels off when it is full, at about 19.6 MiB" */
  text: string;
}

/** A process's threads over the run (the kernel's count), src/analysis/threads.ts. */
export interface ThreadFigures {
  start: number;
  end: number;
  peak: number;
  /** Threads per second after the warm-up (least squares). */
  ratePerSec: number;
  /** Threads pile up: the count still reached new highs at the end of the run. */
  growing: boolean;
}

export interface ProcessSummary {
  pid: number;
  ppid: number;
  argv: string[];
  python: string;
  collector: CollectorInfo;
  verdict: Verdict;
  reason: string;
  durationSec: number;
  memory: { rss: MemoryFigures; heap: MemoryFigures };
  /** Absent when the agent sent no thread counts. */
  threads?: ThreadFigures;
  /** Sites that grew into containers not full yet (not leaks). */
  bounded?: BoundedGrowth[];
  /** [t, rss, heap] samples for charts. */
  series: [number, number, number][];
  /** Seconds at the start ignored as warm-up. */
  warmupSec: number;
}

export interface SiteRow {
  pid: number;
  stackId: number;
  site: Frame | null;
  stack: Frame[];
  liveBytes: number;
  /** Live allocations (memory blocks), not objects. */
  liveCount: number;
  /** Change over the analysed window (after warm-up) and a rate of the same sign. */
  growthBytes: number;
  growthBytesPerSec: number;
  /** As LeakReport.freeListBytes / freeLists. */
  freeListBytes?: number;
  freeLists?: FreeListKind[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  tool: { name: "leakhound"; version: string };
  verdict: Verdict;
  reason: string;
  confidence: number;
  /** True when the capture was cut short or some process sent no data; the report says what it could. */
  partial: boolean;
  notes: string[];
  target: {
    argv: string[];
    pid: number | null;
    python: string | null;
    exitCode: number | null;
    signal: string | null;
    /** "leakhound" when leakhound itself stopped the target (--duration); absent or null otherwise. */
    stoppedBy?: "leakhound" | "detached" | null;
  };
  collector: CollectorInfo | null;
  durationSec: number;
  memory: { rss: MemoryFigures; heap: MemoryFigures };
  /** The top process's threads (absent when not known). */
  threads?: ThreadFigures;
  /** Growth into containers that hold at most so many items and were not full: it levels off (not leaks). */
  bounded?: BoundedGrowth[];
  /** The leaks grouped by what keeps them alive, most important first (absent in older reports). */
  causes?: CauseReport[];
  leaks: LeakReport[];
  processes: ProcessSummary[];
  /** Every tracked allocation site, largest live first (for tables and flame charts). */
  sites: SiteRow[];
  /** A pytest session: the tests that kept memory (leaks first), and pytest's own per-test records. */
  tests?: TestReport[];
  testRunner?: TestRunnerRecords | null;
  /** Source lines around leak sites: file → {start, lines}. */
  sources: Record<string, { start: number; lines: string[] }>;
  capture: string | null;
}
