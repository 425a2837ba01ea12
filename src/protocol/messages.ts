// The one contract between the TypeScript host and the Python agent.
//
// Transport: a private Unix stream socket; every message is one JSON object on
// one line (NDJSON, UTF-8). The agent connects, sends `hello` first, then
// `stacks`/`sample` messages as it runs. When the interpreter is about to exit
// it sends `exiting` and waits (bounded) for the host's `find-retainers` or
// `done`. The JSON Schema in agent-protocol.schema.json describes the same
// messages; tests validate every message a real agent sends against it, and
// the Python side (agent/leakhound_agent/protocol.py) builds exactly these.
// Version, message types, environment names and defaults come from the one
// contract file (contract.ts) that the agent reads too; this file holds types
// only (the web app compiles it too).

/** One Python frame. `file` is absolute where the agent could make it so. */
export interface Frame {
  file: string;
  line: number;
  function: string;
  /**
   * Agent → host only: `function` is the code object's bare name (CPython < 3.11); the host
   * adds the enclosing classes and functions from the source file (src/host/qualnames.ts).
   */
  qualify?: boolean;
}

export interface CollectorInfo {
  /** "sampling" (allocator sampling, the native extension) or "tracemalloc" (exact, the fallback). */
  name: string;
  /** Seconds between samples. */
  intervalSec: number;
  /** Frames kept per stack. */
  nframes: number;
  /** Mean bytes between sampled allocations; 0 for exact collectors. */
  sampleBytes: number;
  /** Human-readable note, e.g. why a fallback was chosen, and the error bounds in full. */
  note?: string;
  /** The finest sampling interval (bytes), used where memory stays alive; absent when there is one interval. */
  fineBytes?: number;
  /** C-level allocations are sampled too (the malloc shim is loaded). */
  nativeSampling?: boolean;
}

// ---------------------------------------------------------------- agent → host

export interface HelloMessage {
  type: "hello";
  v: number;
  pid: number;
  ppid: number;
  python: string; // "3.12.1"
  implementation: string; // "cpython"
  executable: string;
  argv: string[];
  cwd: string;
  /** Epoch milliseconds when the agent started (≈ interpreter start). */
  startedAt: number;
  collector: CollectorInfo;
  /** Set when the agent was attached to a running process (`leakhound attach`): how long it had run. */
  attached?: { afterSec: number | null };
}

/** Sent instead of hello by interpreters the agent cannot serve (too old, not CPython). */
export interface UnsupportedMessage {
  type: "unsupported";
  v: number;
  pid: number;
  python: string;
  reason: string;
}

/** Stack definitions; ids are per process and defined before use. Frames innermost first. */
export interface StacksMessage {
  type: "stacks";
  stacks: { id: number; frames: Frame[] }[];
}

/**
 * [stackId, liveBytes, liveCount] for one allocation stack, and for a Python site some of whose
 * memory went onto CPython's free lists (its objects died there; objects made by other lines may
 * reuse it), two more: freeListBytes (part of liveBytes) and the FREE_LIST kinds (a bit mask).
 */
export type SiteTuple = [number, number, number] | [number, number, number, number, number];

/** Bits of a site tuple's free-list kinds: which of CPython's free lists the site's memory went to. */
export const FREE_LIST = { dict: 1, list: 2, tuple: 4, float: 8 } as const;
/** [stackId, hits]: how often a thread was seen executing this stack since the last sample. */
export type ActiveTuple = [number, number];

export interface SampleMessage {
  type: "sample";
  seq: number;
  /** Seconds since the agent started (monotonic). */
  t: number;
  /** Resident set size in bytes. */
  rss: number;
  /** Live Python heap bytes as the collector sees it (estimate for sampling collectors). */
  heap: number;
  /** Bytes the collector itself uses (tracemalloc's own memory, sampler tables). */
  overhead: number;
  gcEnabled: boolean;
  /** Live bytes by allocation stack (the tracked stacks; others summed in otherBytes), with their free-list bytes. */
  sites: SiteTuple[];
  otherBytes: number;
  otherCount: number;
  /** Python stacks seen running in any thread since the last sample. */
  active: ActiveTuple[];
  /** Native (malloc-level) sampled live bytes by stack, when a native shim runs. */
  native?: SiteTuple[];
  /** Seconds the agent spent producing this sample (its own cost). */
  cost: number;
  /** The process's threads, as the kernel counts them (C libraries' threads too); absent where unknown. */
  threads?: number;
}

export interface LogMessage {
  type: "log";
  level: "info" | "warning" | "error";
  message: string;
}

/** The interpreter is exiting (atexit); the agent waits for find-retainers or done. */
export interface ExitingMessage {
  type: "exiting";
  reason: string;
}

/**
 * Where a program's shutdown began: the main thread finished `__main__` (the interpreter
 * called threading._shutdown), the program's other (non-daemon) threads finished after
 * working on for a while, or the atexit handlers began (no threading module).
 */
export type ShutdownWhat = "main-end" | "threads-end" | "atexit";

/**
 * The program stopped working and began to shut down (before its cleanup: a pool's threads
 * ending, atexit handlers). With `search`, the agent waits for the host's answer: a
 * `find-retainers` (with a requestId) so the search sees the objects before the cleanup, or `done`.
 */
export interface ShutdownMessage {
  type: "shutdown";
  /** Seconds on the process's sample clock (SampleMessage.t). */
  t: number;
  what: ShutdownWhat;
  search: boolean;
}

export interface RetainerPath {
  /** Kind of root: "module global", "class attribute", "thread stack", "closure", "thread-local", "lru_cache", "gc-tracked", … */
  rootKind: string;
  /** The root in words: "module app.cache" / "thread MainThread (main.py:12 main)". */
  root: string;
  /** Steps after the root, each in Python words: "_CACHE (dict, 12,034 items)", "value", ".body (str)". */
  steps: string[];
  /** Sampled objects whose path had this shape (the explained ones: see RetainerResult.sampled). */
  objects: number;
  /** Bytes of those sampled objects (shallow). */
  bytes: number;
  /**
   * Live objects kept along this path. An estimate from every sampled object of the stack the walk
   * reached, each weighted by its own sampling probability (Horvitz–Thompson: Σ 1/p), the explained
   * ones giving each path its share; or, when `exact`, counted in the containers the walk reached.
   * Absent from older agents (the host then splits the stack's live count by `objects`).
   */
  estObjects?: number;
  /** Bytes (sys.getsizeof, shallow) of those objects: Σ size/p, or counted when `exact`. */
  estBytes?: number;
  /** Standard error of estObjects (0 when exact or for an exact collector with one path). */
  errObjects?: number;
  /** Standard error of estBytes. */
  errBytes?: number;
  /** estObjects/estBytes were counted in the containers the walk reached, not estimated. */
  exact?: boolean;
  /**
   * The first container on the path that holds at most `limit` items (a deque's maxlen, a bounded
   * lru_cache's maxsize): its items when searched (`size`) and its step's index in `steps`.
   */
  bound?: RetainerBound;
}

export interface RetainerBound {
  limit: number;
  size: number;
  step: number;
}

export interface RetainerResult {
  stackId: number;
  /** Live objects found that were allocated at this stack. */
  found: number;
  /** How many of them the path search was run for. */
  sampled: number;
  /** True when the sampled objects are not reachable from any root. */
  unreachable: boolean;
  /**
   * An answer for a native stack (asked in `nativeStackIds`): its objects are the Python objects
   * that own the stack's sampled malloc blocks, and each path's estBytes is native memory they hold.
   */
  native?: boolean;
  /**
   * How the owners were found: "pointer" (their memory, or malloc blocks it points to, holds the
   * blocks' addresses) or "stack" (none does: the objects made at the same stack stand for them).
   */
  ownedBy?: "pointer" | "stack";
  /** Owners by type (by pointer only): estimated objects and native bytes they hold, and a description. */
  owners?: NativeOwner[];
  /** Share (0-1) of the stack's sampled native bytes that the owners' pointers reach (by pointer). */
  reached?: number;
  /** A sentence when unreachable (or when nothing was found). */
  note?: string;
  paths: RetainerPath[];
}

export interface RetainersMessage {
  type: "retainers";
  results: RetainerResult[];
  /** Objects visited by the walk. */
  visited: number;
  elapsedSec: number;
  /** True when the walk stopped at its time or memory budget. */
  truncated: boolean;
  /** The request's id, echoed (absent from older agents and from the exit search of one). */
  requestId?: number;
  /** When the search started, in seconds on the process's sample clock (SampleMessage.t). */
  t?: number;
  /** True when the program ran on during the search (a live explanation, not the exit one). */
  live?: boolean;
}

/**
 * One run of one test (the agent's pytest plugin): live memory by allocation stack after the
 * test's teardown and a collection, less what was live before its set-up.
 */
export interface TestMessage {
  type: "test";
  /** pytest's node id: "tests/test_orders.py::test_checkout[3]". */
  id: string;
  /** 1 for its first run in this process, 2 for the next (`--repeat`), … */
  run: number;
  /** When the run ended, in seconds on the process's sample clock (SampleMessage.t). */
  t: number;
  outcome: "passed" | "failed" | "skipped";
  /** Net bytes the run kept at the user's stacks (the runner's own left out); may be negative. */
  retained: number;
  /** The stacks that kept the most: [stackId, bytes, count], largest first (at most 32). */
  sites: [number, number, number][];
  /** Net [bytes, count] kept at pytest's own stacks (its per-test records). */
  runner: [number, number];
  durationSec: number;
  /** The test's `@pytest.mark.leakhound(max_retained=…)`, in bytes. */
  limit?: number;
  /**
   * The collector measured the heap's total only (tracemalloc: a snapshot per test would cost
   * seconds): no sites, and pytest's own records are inside `retained`, not in `runner`.
   */
  totalOnly?: boolean;
}

export type AgentMessage =
  | TestMessage
  | HelloMessage
  | UnsupportedMessage
  | StacksMessage
  | SampleMessage
  | LogMessage
  | ExitingMessage
  | ShutdownMessage
  | RetainersMessage;

// ---------------------------------------------------------------- host → agent

export interface NativeOwner {
  /** The owner's type: "ndarray". */
  type: string;
  /** In its own words when it is well known: "ndarray 64×256 float64", "ImagingCore RGB 256×256". */
  desc: string;
  objects: number;
  /** Native bytes they hold (Σ size/p over the sampled blocks they point to). */
  bytes: number;
}

export interface FindRetainersMessage {
  type: "find-retainers";
  stackIds: number[];
  /** Native stacks (malloc blocks sampled by the shim) whose Python owners to find. */
  nativeStackIds?: number[];
  /**
   * Of `stackIds`, the leaks that are memory objects made by other lines reuse from CPython's free
   * lists (`reusedFromFreeList`): for them the objects now in their free-listed blocks count. For
   * the others they do not (an object made elsewhere from a dead one's memory is not theirs).
   */
  freeListStackIds?: number[];
  /** Objects per stack to find a path for. */
  maxObjects: number;
  /** Wall-clock budget for the walk. */
  timeoutSec: number;
  /** Echoed in the answer, so the host knows which request it answers. */
  requestId?: number;
}

export interface DoneMessage {
  type: "done";
}

/**
 * `leakhound attach` is done: the agent takes a last sample, ends like an exit handshake
 * (`exiting` with reason "detach", then the retainer search the host asks for), and turns
 * itself off; the program runs on.
 */
export interface DetachMessage {
  type: "detach";
}

export type HostMessage = FindRetainersMessage | DoneMessage | DetachMessage;

/** Every agent message type, checked against the contract by test/unit/contract.test.ts. */
export const AGENT_MESSAGE_TYPES: readonly AgentMessage["type"][] = ["hello", "unsupported", "stacks", "sample", "log", "exiting", "shutdown", "retainers", "test"];
export const HOST_MESSAGE_TYPES: readonly HostMessage["type"][] = ["find-retainers", "done", "detach"];
const AGENT_TYPES = new Set<AgentMessage["type"]>(AGENT_MESSAGE_TYPES);

/** Cheap runtime guard for one decoded line; the full schema is checked in tests. */
export function isAgentMessage(value: unknown): value is AgentMessage {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { type?: unknown }).type === "string" &&
    AGENT_TYPES.has((value as { type: AgentMessage["type"] }).type)
  );
}
