// The standard library tables named from a leak's paths (src/analysis/holders.ts), and the order of
// paths that end at a weak reference (src/analysis/retainers.ts). The paths are those real runs of
// test/fixtures/programs/leak_stdlib_holders.py gave on CPython 3.8, 3.11 and 3.13.
import { describe, expect, it } from "vitest";
import { knownHolder } from "../../src/analysis/holders.js";
import { summarizeRetainers } from "../../src/analysis/retainers.js";
import type { RetainerReport } from "../../src/report/model.js";
import type { RetainerPath } from "../../src/protocol/messages.js";

function report(text: string, objects: number, extra: Partial<RetainerReport> = {}): RetainerReport {
  const [root, ...path] = text.split(" → ");
  return { root: root!, rootKind: extra.rootKind ?? "module global", path, text, objects, bytes: objects * 64, ...extra };
}

function holderOf(...paths: RetainerReport[]): string | undefined {
  return knownHolder({ unreachable: false, retainers: paths })?.id;
}

describe("standard library holders", () => {
  it("logging's loggers, from any root that reaches the manager", () => {
    const p = report("module concurrent.futures._base → LOGGER (Logger) → .manager (Manager) → .loggerDict (dict, 53,805 items) → [*] (Logger)", 53_805);
    const h = knownHolder({ unreachable: false, retainers: [p] })!;
    expect(h.id).toBe("logging-loggers");
    expect(h.what).toMatch(/keeps every logger `logging.getLogger\(name\)` has made/);
    expect(h.fix).toMatch(/getLogger\(__name__\)/);
  });

  it("a logger's handlers, but not another object's `.handlers` list", () => {
    expect(holderOf(report("module __main__ → log (Logger) → .handlers (list, 24,900 items) → [*] (StreamHandler)", 24_900))).toBe("logging-handlers");
    expect(holderOf(report("module __main__ → bus (EventBus) → .handlers (list, 24,900 items) → [*] (function)", 24_900))).toBeUndefined();
    // A logger per job, each with its handler: the logger table is the cause.
    expect(
      holderOf(report("module logging → root (RootLogger) → .manager (Manager) → .loggerDict (dict, 900 items) → [*] (Logger) → .handlers (list, 1 item) → [*] (FileHandler)", 900)),
    ).toBe("logging-loggers");
  });

  it("finished futures kept by a collection, not pending ones", () => {
    expect(holderOf(report("module __main__ → _PENDING (list, 41,900 items) → [*] (Future, done) → ._result (str)", 41_900))).toBe("done-futures");
    expect(holderOf(report("module __main__ → _PENDING (list, 40 items) → [*] (Future) → ._condition (Condition)", 40))).toBeUndefined();
  });

  it("finished threads kept by a collection", () => {
    expect(holderOf(report("module __main__ → _WORKERS (list, 10,600 items) → [*] (Thread, finished) → ._name (str)", 10_600))).toBe("done-threads");
    expect(holderOf(report("module __main__ → _WORKERS (list, 4 items) → [*] (Thread) → ._name (str)", 4))).toBeUndefined();
  });

  it("a context variable's value that every copy of the context adds to, even reached through a timer", () => {
    const text = "module asyncio.events → _event_loop_policy (_UnixDefaultEventLoopPolicy) → ._local (BaseDefaultEventLoopPolicy._Local) → thread-local ._loop (_UnixSelectorEventLoop) → ._scheduled (list, 1 item) → [0] (TimerHandle) → ._context (Context) → [ContextVar 'trail'] (list, 73,480 items) → [*] (dict, 3 items)";
    const held = knownHolder({ unreachable: false, retainers: [report(text, 73_500)] })!;
    expect(held.id).toBe("context-var");
    expect(held.what).toMatch(/the value of the context variable `trail` \(a list\)/);
    expect(holderOf(report("module app → _TASK (Task) → ._context (Context) → [ContextVar 'user'] (User)", 3))).toBeUndefined();
  });

  it("a buffering handler's records, and a table judged by the leak's largest path, not a small one", () => {
    const big = report("module __main__ → log (Logger) → .handlers (list, 1 item) → [0] (MemoryHandler) → .buffer (list, 32,300 items) → [*] (LogRecord) → .module (str)", 30_862);
    const small = report("module app → log (Logger) → .handlers (list, 1 item) → [0] (StreamHandler) → .stream (StringIO)", 9_000);
    expect(knownHolder({ unreachable: false, retainers: [big] })!.id).toBe("logging-buffer");
    // The small path alone would pass (one handler, under a hundred objects); beside the big one it does not name the leak.
    expect(knownHolder({ unreachable: false, retainers: [report(small.text, 60)] })!.id).toBe("logging-handlers");
    expect(holderOf(report("module __main__ → log (Logger) → .handlers (list, 1 item) → [0] (StreamHandler) → .records (list, 30,000 items)", 30_862), small)).toBeUndefined();
  });

  it("threads started per call that never end, kept by threading's table of running threads", () => {
    const held = knownHolder({ unreachable: false, retainers: [report("module threading → _active (dict, 808 items) → [*] (Timer) → .function (method Session.expire) → __self__ (Session) → .data (list, 20 items)", 800)] })!;
    expect(held.id).toBe("running-threads");
    expect(held.what).toMatch(/keeps every running thread \(here Timer objects\)/);
    expect(holderOf(report("module threading → _active (dict, 3 items) → [*] (_MainThread) → ._name (str)", 900))).toBeUndefined();
    // Running threads first, though a few of the line's threads (kept by their executor) have finished.
    expect(
      holderOf(
        report("module threading → _active (dict, 424 items) → [*] (Thread) → ._name (str)", 5_000),
        report("module __main__ → POOLS (list, 420 items) → [*] (ThreadPoolExecutor) → ._threads (set, 1 item) → member (Thread, finished)", 1_200),
      ),
    ).toBe("running-threads");
  });

  it("generators kept suspended (their locals on the path), not a generator's own object", () => {
    const held = knownHolder({ unreachable: false, retainers: [report("module __main__ → PENDING (list, 2,692 items) → [*] (generator stream_rows) → local variable rows (list, 50 items) → [*] (str)", 134_000)] })!;
    expect(held.id).toBe("suspended-generators");
    expect(held.what).toMatch(/keeps generators of `stream_rows` that were started and never finished/);
    expect(holderOf(report("module __main__ → PENDING (list, 900 items) → [*] (coroutine fetch) → cr_frame (frame fetch at app.py:9)", 900))).toBe("suspended-generators");
    expect(holderOf(report("module __main__ → PENDING (list, 2,692 items) → [*] (generator stream_rows)", 2_692))).toBeUndefined();
    expect(holderOf(report("module __main__ → handle (function) → local variable rows (list, 50 items)", 50))).toBeUndefined();
  });

  it("a WeakKeyDictionary's value that keeps its key; started mock patches; a long-lived ExitStack; warnings filters", () => {
    const weak = knownHolder({ unreachable: false, retainers: [report("module __main__ → _META (WeakKeyDictionary) → .data (dict, 900 items) → value that keeps its own weak key, a Session (dict, 2 items)", 900)] })!;
    expect(weak.id).toBe("weak-key-kept");
    expect(weak.what).toMatch(/refers to its own key \(a Session\)/);
    expect(holderOf(report("module __main__ → _META (WeakKeyDictionary) → .data (dict, 900 items) → value of a weak key to a Session (dict, 2 items)", 900))).toBeUndefined();
    expect(holderOf(report("module unittest.mock → _patch._active_patches (list, 12,700 items) → [*] (_patch) → .temp_original (MagicMock)", 12_700))).toBe("mock-patches");
    expect(holderOf(report("module __main__ → _STACK (ExitStack) → ._exit_callbacks (deque, 19,100 items) → [*] (tuple, 2 items)", 19_100))).toBe("exit-stack");
    expect(holderOf(report("module _warnings → filters (list, 11,805 items) → [*] (tuple, 5 items)", 11_805))).toBe("warnings-filters");
    expect(holderOf(report("module app → filters (list, 11,805 items) → [*] (tuple, 5 items)", 11_805))).toBeUndefined();
  });

  it("a small memoryview's buffer, when the buffer is much bigger than the view", () => {
    const h = knownHolder({ unreachable: false, retainers: [report("module __main__ → _VIEWS (list, 16,300 items) → [*] (memoryview, 8 bytes) → .obj (bytes)", 16_000, { bytes: 16_000 * 20_033 })] })!;
    expect(h.id).toBe("memoryview-slice");
    expect(h.what).toBe("each kept memoryview (8 B) is a slice of a bigger buffer, and a view keeps the whole buffer alive: 19.6 KiB held per view");
    // A view of the whole buffer keeps nothing more than itself.
    expect(holderOf(report("module __main__ → _VIEWS (list, 100 items) → [*] (memoryview, 4,096 bytes) → .obj (bytearray, 4,096 bytes)", 100, { bytes: 100 * 4_153 }))).toBeUndefined();
  });

  it("warnings' registries", () => {
    expect(holderOf(report("module __main__ → __warningregistry__ (dict, 57,401 items) → key (tuple, 3 items) → [0] (str)", 57_401))).toBe("warnings-registry");
    expect(holderOf(report("module warnings → onceregistry (dict, 900 items) → key (tuple, 2 items)", 900))).toBe("warnings-registry");
    expect(holderOf(report("module app → onceregistry (dict, 900 items) → key (tuple, 2 items)", 900))).toBeUndefined();
  });

  it("an unbounded lru_cache: a method's (its key holds self, on any path of the leak) or a function's; a bounded one is not named", () => {
    const key = report("module __main__ → Pricer.price (lru_cache Pricer.price) → cache (dict, 33,600 items) → key (tuple, 2 items)", 33_600, { rootKind: "lru_cache" });
    const self = report("module __main__ → Pricer.price (lru_cache Pricer.price) → cache (dict, 33,600 items) → key (tuple, 2 items) → [0] (Pricer)", 30_544, { rootKind: "lru_cache" });
    expect(holderOf(key, self)).toBe("lru-cache-method");
    expect(holderOf(key)).toBe("lru-cache");
    const h = knownHolder({ unreachable: false, retainers: [self] })!;
    expect(h.what).toMatch(/on the method Pricer\.price keeps every `self`/);
    const fn = report("module __main__ → render (lru_cache render) → cache (dict, 900 items) → key (tuple, 1 item) → [0] (str)", 900, { rootKind: "lru_cache" });
    expect(knownHolder({ unreachable: false, retainers: [fn] })!.what).toMatch(/\(render\) keeps every distinct argument/);
    const bounded = report("module __main__ → render (lru_cache render, at most 5,000, 1,500 entries) → cache entry (str)", 1_500, {
      rootKind: "lru_cache",
      bound: { limit: 5_000, size: 1_500, step: 0 },
    });
    expect(holderOf(bounded)).toBeUndefined();
  });

  it("a kept traceback, gc.garbage, asyncio's timers, sys.modules", () => {
    expect(
      holderOf(report("module __main__ → _ERRORS (list, 52,300 items) → [*] (ValueError) → __traceback__ (traceback) → tb_frame (frame one at app.py:60) → local variable rows (list, 20 items)", 52_300)),
    ).toBe("stored-traceback");
    expect(holderOf(report("module gc → garbage (list, 33,651 items) → [*] (Node)", 33_651))).toBe("gc-garbage");
    expect(
      holderOf(
        report(
          "module asyncio.events → _event_loop_policy (_UnixDefaultEventLoopPolicy) → ._local (BaseDefaultEventLoopPolicy._Local) → thread-local ._loop (_UnixSelectorEventLoop) → ._scheduled (list, 47,201 items) → [*] (TimerHandle)",
          47_201,
          { rootKind: "thread-local" },
        ),
      ),
    ).toBe("asyncio-timers");
    expect(holderOf(report("module sys → modules (dict, 56,904 items)", 56_904))).toBe("sys-modules");
    expect(holderOf(report("module __main__ → modules (dict, 56,904 items)", 56_904))).toBeUndefined();
  });

  it("a mock's calls, weakref.finalize's registry, a queue without maxsize, a defaultdict's lookups, sys.path", () => {
    expect(
      holderOf(report("module __main__ → client (MagicMock) → ._mock_children (dict, 1 item) → ['send'] (MagicMock) → ._mock_call_args_list (_CallList, 30,000 items) → [*] (_Call, 2 items)", 30_000)),
    ).toBe("mock-calls");
    // `method_calls` is a plain attribute of every mock (no `_mock_` prefix), on every CPython.
    expect(holderOf(report("module __main__ → _CLIENT (MagicMock) → .method_calls (_CallList, 40,100 items) → [*] (_Call, 3 items)", 40_100))).toBe("mock-calls");
    expect(holderOf(report("module __main__ → calls (_CallList, 30,000 items) → [*] (_Call, 2 items)", 30_000))).toBeUndefined();
    expect(
      holderOf(report("module weakref → finalize._registry (dict, 30,200 items) → value of a finalize key (finalize._Info) → .args (tuple, 1 item) → [0] (bytearray, 3,000 bytes)", 30_200)),
    ).toBe("weakref-finalize");
    expect(
      holderOf(report("module atexit → registered callback (method finalize._exitfunc) → finalize._registry (dict, 41,800 items) → value of a finalize key (finalize._Info)", 41_800)),
    ).toBe("weakref-finalize");
    expect(holderOf(report("module __main__ → jobs (Queue) → .queue (deque, 15,103 items) → [*] (dict, 2 items)", 15_103))).toBe("unbounded-queue");
    expect(
      holderOf(
        report(
          "module asyncio.events → _event_loop_policy (_UnixDefaultEventLoopPolicy) → ._local (BaseDefaultEventLoopPolicy._Local) → thread-local ._loop (_UnixSelectorEventLoop) → ._scheduled (list, 2 items) → [1] (TimerHandle) → ._args (tuple, 2 items) → [0] (Future) → awaited by (task main) → local variable q (Queue) → ._queue (deque, 9,220 items) → [*] (tuple, 3 items)",
          9_220,
        ),
      ),
    ).toBe("unbounded-queue");
    expect(holderOf(report("module __main__ → pool (ThreadPoolExecutor) → ._work_queue (SimpleQueue) → [*] (_WorkItem)", 9_000))).toBe("unbounded-queue");
    expect(holderOf(report("module __main__ → buf (Buffer) → .queue (deque, 9,000 items) → [*] (bytes)", 9_000))).toBeUndefined();
    expect(holderOf(report("module __main__ → seen (defaultdict, 47,400 items) → [*] (list, 0 items)", 47_400))).toBe("defaultdict-reads");
    expect(holderOf(report("module __main__ → seen (defaultdict, 47,400 items) → [*] (list, 3 items) → [*] (str)", 47_400))).toBeUndefined();
    expect(holderOf(report("module __main__ → seen (defaultdict, 47,400 items) → key (str)", 47_400))).toBeUndefined();
    expect(holderOf(report("module sys → path (list, 7,956 items) → [*] (str)", 7_956))).toBe("sys-path");
    expect(holderOf(report("module sys → path_importer_cache (dict, 5,071 items) → key (str)", 5_071))).toBe("sys-path");
    expect(holderOf(report("module app → path (list, 7,956 items) → [*] (str)", 7_956))).toBeUndefined();
  });

  it("finished asyncio tasks a collection keeps; pending ones are not named", () => {
    expect(holderOf(report("module __main__ → background (set, 36,700 items) → member (task work, done) → ._result (int)", 36_700))).toBe("done-tasks");
    expect(holderOf(report("module __main__ → jobs (dict, 900 items) → ['j1'] (task fetch, cancelled)", 900))).toBe("done-tasks");
    expect(holderOf(report("module __main__ → TASKS (set, 100 items) → member (task serve) → local variable scratch (list, 5 items)", 100))).toBeUndefined();
  });

  it("itertools.tee's buffer, as a chain of its blocks", () => {
    expect(
      holderOf(
        report(
          "module __main__ → audit (_tee) → referent of _tee (_tee_dataobject) → referent of _tee_dataobject (_tee_dataobject, 18–1,330 in a chain) → referent of _tee_dataobject (dict, 2 items)",
          75_886,
        ),
      ),
    ).toBe("itertools-tee");
  });

  it("numpy views that keep their base arrays, from the owners of a native leak", () => {
    const owner = (desc: string, objects: number, bytes: number) => ({ by: "pointer" as const, types: [{ type: "ndarray", desc, objects, bytes }] });
    const views = knownHolder({ unreachable: false, retainers: [], owner: owner("ndarray 4 float64, a view of a 200×200 float64 array", 2_300, 736_140_570) })!;
    expect(views.id).toBe("numpy-view");
    expect(views.what).toMatch(/a view \(4 items\) of a bigger array \(200×200\).*313 KiB held per view/);
    expect(views.fix).toMatch(/\.copy\(\)/);
    // A view as big as what it holds (a row of a table kept whole), and plain arrays: no holder.
    expect(knownHolder({ unreachable: false, retainers: [], owner: owner("ndarray 200 float64, a view of a 1×200 float64 array", 100, 160_000) })).toBeUndefined();
    expect(knownHolder({ unreachable: false, retainers: [], owner: owner("ndarray 200×200 float64", 100, 32_000_000) })).toBeUndefined();
  });

  it("a small path does not name the leak's holder; an unreachable leak has none", () => {
    const big = report("module __main__ → _CACHE (dict, 90,000 items) → [*] (Record)", 90_000);
    const small = report("module __main__ → __warningregistry__ (dict, 10 items) → key (tuple, 3 items)", 10_000);
    expect(holderOf(big, small)).toBeUndefined();
    expect(knownHolder({ unreachable: true, retainers: [report("module gc → garbage (list, 3 items) → [*] (Node)", 3)] })).toBeUndefined();
  });
});

describe("paths that end at a weak reference", () => {
  function path(text: string, objects: number): RetainerPath {
    const [root, ...steps] = text.split(" → ");
    return { rootKind: "module global", root: root!, steps, objects: 10, bytes: 640, estObjects: objects, estBytes: objects * 64, exact: true };
  }

  it("come after the path that keeps their object alive when it keeps half as many or more", () => {
    const weakset = path("module logging → _at_fork_reinit_lock_weakset (WeakSet) → .data (set, 24,901 items) → member (weakref to StreamHandler)", 24_901);
    const handlers = path("module __main__ → log (Logger) → .handlers (list, 24,900 items) → [*] (StreamHandler)", 24_900);
    const result = { stackId: 1, found: 50_000, sampled: 200, unreachable: false, paths: [weakset, handlers] };
    const { retainers } = summarizeRetainers([{ result, liveBytes: 1e7, liveCount: 50_000 }], "ran");
    expect(retainers.map((r) => r.objects)).toEqual([24_900, 24_901]);
    // Dead weak references are the leak itself: they keep their place.
    const dead = path("module __main__ → _REFS (list, 24,901 items) → [*] (dead weakref)", 24_901);
    const other = { ...result, paths: [handlers, dead] };
    expect(summarizeRetainers([{ result: other, liveBytes: 1e7, liveCount: 50_000 }], "ran").retainers.map((r) => r.objects)).toEqual([24_901, 24_900]);
  });

  it("an object nothing refers to comes after a path from a real root that keeps half as many or more (a C object that hides its references)", () => {
    const handlers = path("module __main__ → log (Logger) → .handlers (list, 23,200 items) → [*] (StreamHandler)", 23_200);
    const orphan = { ...path("list that no Python object refers to", 24_311), rootKind: "no referrer" };
    const result = { stackId: 1, found: 50_000, sampled: 200, unreachable: false, paths: [orphan, handlers] };
    expect(summarizeRetainers([{ result, liveBytes: 1e7, liveCount: 50_000 }], "ran").retainers.map((r) => r.rootKind)).toEqual(["module global", "no referrer"]);
    // Only orphans (a reference leaked in C): their order is their size.
    const other = { ...orphan, root: "dict that no Python object refers to", estObjects: 30_000 };
    const alone = { ...result, paths: [orphan, other] };
    expect(summarizeRetainers([{ result: alone, liveBytes: 1e7, liveCount: 50_000 }], "ran").retainers.map((r) => r.objects)).toEqual([30_000, 24_311]);
  });
});
