// Tables of the standard library that keep what a program hands them, named from a leak's
// reference paths: `logging` keeps every logger it made, `warnings` every distinct message it
// showed, an unbounded `lru_cache` every argument. The path already says where the memory is
// held; this says why the library holds it and how to stop it, in one sentence each.
// Computed once here (analyze.ts); every output reads `leak.holder`.
import type { LeakHolder, LeakReport, RetainerReport } from "../report/model.js";
import { itemCount, stepCount, stepKind, stepName } from "./causes.js";
import { formatBytes } from "../report/units.js";

interface Known {
  id: string;
  /** Whether this path goes through the library's table. */
  holds(path: RetainerReport): boolean;
  what(path: RetainerReport): string;
  fix: string;
}

/**
 * The index of the first step whose name (without its figures) is one of `names`, and whose kind is
 * `kind` when given; -1 when none. A table whose item count is under a hundredth of the objects the
 * path keeps is on the way to what keeps them, not what does (a loop's two timers, the second of which
 * is `main`'s sleep, above the queue `main` fills).
 */
function stepAt(path: RetainerReport, names: readonly string[], kind?: RegExp): number {
  return path.path.findIndex((s) => names.includes(stepName(s)) && (!kind || kind.test(stepKind(s) ?? "")) && itemCount(s) * 100 >= path.objects);
}


/** Whether a step is an item of a container (`[*]`, `member`, `key`) whose text matches `what`. */
function isItem(step: string, what: RegExp): boolean {
  return what.test(step) && /^(member|\[.*\]|key)$/.test(stepName(step));
}

/** Whether a step below the root is an item of a container whose text matches `what`. */
function keptItem(path: RetainerReport, what: RegExp): boolean {
  return path.path.some((s, i) => i > 0 && isItem(s, what));
}

/** A generator, coroutine or async generator step: "[*] (generator stream_rows)". */
const GENERATOR = /\((generator|coroutine|async_generator) ([^()]*)\)$/;

/** Whether the path has a step named one of `names` (of kind `kind`) right after a step whose kind is `owner`. */
function stepOf(path: RetainerReport, names: readonly string[], kind: RegExp, owner: RegExp): boolean {
  const i = stepAt(path, names, kind);
  return i > 0 && owner.test(stepKind(path.path[i - 1]!) ?? "");
}

const KNOWN: readonly Known[] = [
  {
    id: "logging-loggers",
    holds: (p) => stepAt(p, [".loggerDict", "loggerDict"], /^dict$/) >= 0,
    what: () =>
      "`logging` keeps every logger `logging.getLogger(name)` has made, for the life of the process: a name made per job, request or user adds a logger each time",
    fix: "Use one logger per module (`logging.getLogger(__name__)`) and put the job, request or user in the record (`extra=`, a `logging.LoggerAdapter`).",
  },
  {
    id: "logging-handlers",
    holds: (p) => stepOf(p, [".handlers"], /^list$/, /Logger$/),
    what: () => "a logger keeps every handler added to it until `removeHandler`: a handler added per call stays, with its stream or file",
    fix: "Add handlers once at start-up (or only `if not logger.handlers`), or `logger.removeHandler(h)` and `h.close()` in a `finally`.",
  },
  {
    // logging.handlers.MemoryHandler (a BufferingHandler) whose capacity is never reached.
    id: "logging-buffer",
    holds: (p) => stepOf(p, [".buffer"], /^list$/, /Handler$/),
    what: (p) => {
      const i = stepAt(p, [".buffer"], /^list$/);
      const kind = i > 0 ? stepKind(p.path[i - 1]!) : null;
      return `a logging handler that buffers records (${kind ? `a \`${kind}\`` : "a `BufferingHandler`"}) keeps every record until it flushes, each with its arguments and \`exc_info\` (the traceback and its frames): a capacity never reached means it never does`;
    },
    fix: "Give the buffering handler a capacity it reaches and a target to flush to (`MemoryHandler(capacity=1000, target=file_handler)`), or flush it on a schedule; or log straight to a file or stream handler.",
  },
  {
    id: "warnings-registry",
    holds: (p) =>
      stepAt(p, ["__warningregistry__"], /^dict$/) >= 0 ||
      (p.root === "module warnings" && stepAt(p, ["onceregistry", "_onceregistry"], /^dict$/) >= 0),
    what: () =>
      "`warnings` remembers each distinct warning it has shown under a \"default\", \"module\" or \"once\" filter (in the module's `__warningregistry__`): a message that differs per call adds an entry every time",
    fix: "Warn with a fixed message and log the details, or filter that warning (`warnings.filterwarnings(\"ignore\", ...)` remembers nothing).",
  },
  {
    id: "lru-cache-method",
    holds: (p) => p.rootKind === "lru_cache" && !p.bound && methodCache(p),
    what: (p) =>
      `an unbounded \`functools.lru_cache\` / \`functools.cache\` on the method ${cachedName(p)} keeps every \`self\` it was called with (its key's first item), with the result, so those instances are never freed`,
    fix: "Cache per instance (`functools.cached_property`, a dict on `self`), move it to a module-level function of the values that matter, or bound it (`maxsize=N`).",
  },
  {
    id: "lru-cache",
    holds: (p) => p.rootKind === "lru_cache" && !p.bound && cachedName(p) !== "",
    what: (p) =>
      `an unbounded \`functools.lru_cache\` / \`functools.cache\` (${cachedName(p)}) keeps every distinct argument it was called with, and its result, for the life of the process`,
    fix: "Bound it (`functools.lru_cache(maxsize=N)`), or call `cache_clear()` when its entries are stale.",
  },
  {
    id: "stored-traceback",
    holds: (p) => stepAt(p, ["__traceback__", ".__traceback__"], /^traceback$/) >= 0,
    what: () =>
      "a kept exception keeps its traceback, and through it every frame the exception passed and their local variables",
    fix: "Keep what you need of it (`repr(exc)`, `traceback.format_exception(exc)`), or drop the frames (`exc.with_traceback(None)`, `traceback.clear_frames(tb)`).",
  },
  {
    id: "gc-garbage",
    holds: (p) => p.root === "module gc" && stepAt(p, ["garbage"], /^list$/) >= 0,
    what: () =>
      "`gc.garbage` keeps every object the collector found unreachable while `gc.set_debug(gc.DEBUG_SAVEALL)` is on (and objects it could not free)",
    fix: "Switch `gc.DEBUG_SAVEALL` off outside debugging, or empty `gc.garbage` (`gc.garbage.clear()`) once it has been read.",
  },
  {
    // A mutable value set once in a ContextVar and mutated by every task or request that copied the
    // context: `trail.set([])` at start, `trail.get().append(...)` per request. Before the loop's
    // timers: the path to it often passes through a timer's or a task's copy of the context.
    id: "context-var",
    holds: (p) => p.path.some((s) => /^\[ContextVar '[^']*'\]$/.test(stepName(s)) && itemCount(s) * 100 >= p.objects && itemCount(s) !== Infinity),
    what: (p) => {
      const step = p.path.find((s) => /^\[ContextVar '[^']*'\]$/.test(stepName(s)))!;
      const name = /'([^']*)'/.exec(step)?.[1] ?? "?";
      return `the value of the context variable \`${name}\` (a ${stepKind(step) ?? "container"}) is one object that every task or request which copied the context adds to: a context copy shares the value, it does not copy it`;
    },
    fix: "Set a new value for each request or task (`token = var.set([])` at its start, `var.reset(token)` at its end), or keep the data somewhere bounded.",
  },
  {
    id: "asyncio-timers",
    holds: (p) => stepOf(p, ["._scheduled"], /^list$/, /EventLoop$/),
    what: () =>
      "the event loop keeps every `call_later` / `call_at` timer until it is due, a cancelled one too until the loop purges them: long timeouts made per request pile up, with what their callbacks refer to",
    fix: "Cancel a timer when its work is done (`handle.cancel()`), and bound the wait with `asyncio.timeout()` / `asyncio.wait_for()` rather than a timer per request.",
  },
  {
    id: "done-tasks",
    holds: (p) => keptItem(p, /\(task\b[^()]*, (done|cancelled)\)$/),
    what: () =>
      "a collection keeps asyncio tasks that have finished, with their results or exceptions (and what their coroutines held): a set that keeps background tasks alive needs each task taken out when it is done",
    fix: "Add `task.add_done_callback(tasks.discard)` where a task is added to the set (the pattern in asyncio's docs), or run them in an `asyncio.TaskGroup`.",
  },
  {
    // A list (or set, dict) of futures kept after they finished: `pending.append(pool.submit(...))`.
    id: "done-futures",
    holds: (p) => keptItem(p, /\(Future, (done|cancelled)\)$/),
    what: () =>
      "a collection keeps futures that have finished (`executor.submit`, `loop.run_in_executor`), each with its result or exception, and nothing takes them out",
    fix: "Take each future out when it is done (`fut.add_done_callback(pending.discard)`), or keep its result and drop the future (`concurrent.futures.as_completed`).",
  },
  {
    // Threads that are started per call and never end: threading keeps each running one in `_active`.
    // Before done-threads: a leak whose paths go through `_active` is of running threads, though a
    // few of the same line's threads (an executor's, after an idle pool) may have finished.
    id: "running-threads",
    holds: (p) => p.root === "module threading" && stepAt(p, ["_active", "_limbo"], /^dict$/) === 0,
    what: (p) => {
      const i = stepAt(p, ["_active", "_limbo"], /^dict$/);
      const kind = stepKind(p.path[i + 1] ?? "") ?? "Thread";
      return `\`threading\` keeps every running thread (here ${kind} objects) until it ends: threads started per call that wait or block for a long time (a \`Timer\` with a long delay, a worker that never returns) pile up, each with its stack and what its function refers to`;
    },
    fix: "Make each thread end (cancel a `Timer` once its object is done: `timer.cancel()`), or run the delays on one scheduler (`sched`, a single worker thread with a queue, an event loop's `call_later`) instead of a thread each.",
  },
  {
    // Threads kept after they ended: `workers.append(t)` per request, nothing drops a joined one.
    id: "done-threads",
    holds: (p) => keptItem(p, /\(\w*Thread\w*, finished\)$/),
    what: () => "a collection keeps `threading.Thread` objects that have finished, each with what it refers to (its name, its attributes, a subclass's results)",
    fix: "Drop each thread once it is joined (`workers.remove(t)`), or hand the work to a `concurrent.futures.ThreadPoolExecutor` and keep only the results you need.",
  },
  {
    // Generators (coroutines) kept while suspended: `pending.append(gen)` after a first `next()`.
    // A finished generator drops its frame; one whose locals are on the path has not finished.
    id: "suspended-generators",
    holds: (p) =>
      p.path.some((s, i) => i > 0 && isItem(s, GENERATOR) && /^(local variable |gi_frame|cr_frame|ag_frame)/.test(stepName(p.path[i + 1] ?? ""))),
    what: (p) => {
      const kind = GENERATOR.exec(p.path.find((s) => GENERATOR.test(s)) ?? "");
      const what = kind ? `${kind[1] === "coroutine" ? "coroutines" : kind[1] === "async_generator" ? "async generators" : "generators"} of \`${kind[2]}\`` : "generators";
      return `a collection keeps ${what} that were started and never finished: each suspended one keeps its frame, and every local variable in it, until it is exhausted, closed or dropped`;
    },
    fix: "Run each one to the end or `.close()` it when its consumer is done (a `try/finally` around the loop that reads it), and drop it from the collection; keep the values you need, not the generator.",
  },
  {
    // A WeakKeyDictionary whose value refers to its own key: the key never dies, nor its entry.
    id: "weak-key-kept",
    holds: (p) => p.path.some((s) => stepName(s).startsWith("value that keeps its own weak key")),
    what: (p) => {
      const step = p.path.find((s) => stepName(s).startsWith("value that keeps its own weak key"))!;
      const kind = /weak key, an? (.+)$/.exec(stepName(step))?.[1] ?? "object";
      return `a \`WeakKeyDictionary\`'s value refers to its own key (a ${kind}), so the key is never freed and its entry never goes: the weak keys hold nothing weakly`;
    },
    fix: "Keep only what the key does not own in the value, or refer to the key weakly there (`weakref.ref(obj)`); for data that belongs to the object, store it on the object.",
  },
  {
    // unittest.mock patches started and never stopped (`patch(...).start()` per test).
    id: "mock-patches",
    holds: (p) => p.root === "module unittest.mock" && stepName(p.path[0] ?? "") === "_patch._active_patches",
    what: () => "`unittest.mock` keeps every patch started with `start()` until it is stopped: each keeps its mock and the original",
    fix: "Stop each patch (`patcher.stop()`, or `self.addCleanup(patcher.stop)`), use `with patch(...)`, or call `mock.patch.stopall()` after each test.",
  },
  {
    // A long-lived contextlib.ExitStack that callbacks are pushed on per call.
    id: "exit-stack",
    holds: (p) => p.path.some((s, i) => /^\w*ExitStack$/.test(stepKind(s) ?? "") && stepName(p.path[i + 1] ?? "") === "._exit_callbacks"),
    what: () => "an `ExitStack` keeps every callback and context manager pushed on it until it is closed, and this one lives on: each call's cleanup waits for the end of the program",
    fix: "Use a fresh `with ExitStack() as stack:` per request or unit of work, or close what a unit pushed when it ends (`stack.pop_all().close()`).",
  },
  {
    id: "itertools-tee",
    holds: (p) => p.path.some((s, i) => stepKind(s) === "_tee" && p.path[i + 1] !== undefined && stepKind(p.path[i + 1]!) === "_tee_dataobject"),
    what: () =>
      "`itertools.tee` keeps every item until each of its iterators has read it: one iterator that falls behind, or is never read, keeps everything the others have read",
    fix: "Read the tee'd iterators in step, or drop the one that is not read (`del audit`); for a second pass over all items, keep them in a list once instead.",
  },
  {
    id: "mock-calls",
    holds: (p) => stepAt(p, ["._mock_call_args_list", "._mock_mock_calls", ".method_calls"], /^_CallList$/) >= 0,
    what: () =>
      "a `unittest.mock` mock records every call made to it and to its child mocks, with the arguments (`call_args_list`, `mock_calls`, `method_calls`), until `reset_mock()`: a mock called per request or per message keeps every one",
    fix: "Make a fresh mock per test or job, call `reset_mock()` between uses, or use a plain stub function in code that runs for long (a mock is made to remember).",
  },
  {
    id: "weakref-finalize",
    holds: (p) => stepAt(p, ["finalize._registry"], /^dict$/) >= 0 || (p.root === "module weakref" && stepAt(p, ["_registry"], /^dict$/) >= 0),
    what: () =>
      "`weakref.finalize` keeps its callback and arguments until the object it watches is freed or the finalizer is called: the watched objects are still alive, or the arguments refer back to them and keep them alive",
    fix: "Free the watched objects (see what else holds them), never pass the object itself or anything that refers to it to `finalize`, and call the finalizer (`f()` or `f.detach()`) when its work is done early.",
  },
  {
    id: "unbounded-queue",
    holds: (p) =>
      stepOf(p, [".queue", "._queue"], /^(deque|list)$/, /(^|\.)(Queue|LifoQueue|PriorityQueue)$/) ||
      p.path.some((s, i) => stepKind(s) === "SimpleQueue" && i + 1 < p.path.length),
    what: () =>
      "a queue made without `maxsize` (`queue.Queue()`, `asyncio.Queue()`, an executor's work queue) takes every item put into it: items are put faster than they are taken, or nothing takes them any more",
    fix: "Give the queue a `maxsize` so producers wait (back-pressure) or drop work when it is full (`put_nowait` and `queue.Full` / `asyncio.QueueFull`), and check that its consumers are alive and keep up.",
  },
  {
    id: "defaultdict-reads",
    holds: (p) => {
      const i = p.path.findIndex((s) => stepKind(s) === "defaultdict");
      return i >= 0 && p.path.slice(i + 1).some((s) => /^\[.*\]$/.test(stepName(s)) && /^\(\w+, 0 items\)$/.test(s.slice(stepName(s).length).trim()));
    },
    what: () =>
      "a `defaultdict` adds an entry for every missing key it is asked for, a read too (`d[key]`, `len(d[key])`, `for x in d[key]`): the entries whose value is still empty were made by lookups, or emptied and never removed",
    fix: "Look up with `d.get(key)` or `key in d`, and delete an entry when its value becomes empty (`d.pop(key, None)`).",
  },
  {
    // `warnings.filterwarnings(message=...)` per call, with a message that differs each time.
    id: "warnings-filters",
    holds: (p) => /^module (_?warnings)$/.test(p.root) && stepName(p.path[0] ?? "") === "filters",
    what: () => "`warnings.filters` keeps every filter added with `filterwarnings`/`simplefilter`: a filter whose message differs per call is a new one each time",
    fix: "Add the filter once at start-up with a pattern (`message=r\"request \\d+\"`), or wrap the call in `with warnings.catch_warnings():`, which restores the filters.",
  },
  {
    id: "sys-path",
    holds: (p) => p.root === "module sys" && stepAt(p, ["path", "path_importer_cache"], /^(list|dict)$/) >= 0,
    what: () =>
      "`sys.path` keeps every directory added to it, and `sys.path_importer_cache` a finder for each: a directory added per call makes every later import search one more place",
    fix: "Add a directory once (`if d not in sys.path`), remove it when done, or import the file directly (`importlib.util.spec_from_file_location`).",
  },
  {
    // A small memoryview (a slice of a big buffer) keeps the whole buffer: `.obj` is what it views.
    id: "memoryview-slice",
    holds: (p) => {
      const i = p.path.findIndex((s) => stepKind(s) === "memoryview");
      const own = i >= 0 ? stepCount(p.path[i]!, "bytes") : Infinity;
      return i >= 0 && stepName(p.path[i + 1] ?? "") === ".obj" && p.objects > 0 && p.bytes / p.objects >= 4 * Math.max(own, 1);
    },
    what: (p) => {
      const own = stepCount(p.path.find((s) => stepKind(s) === "memoryview")!, "bytes");
      return `each kept memoryview (${formatBytes(own)}) is a slice of a bigger buffer, and a view keeps the whole buffer alive: ${formatBytes(p.bytes / p.objects)} held per view`;
    },
    fix: "Keep a copy of the part you need (`bytes(view[:n])`), or `view.release()` when done, so the buffer can be freed.",
  },
  {
    id: "sys-modules",
    holds: (p) => p.root === "module sys" && stepAt(p, ["modules"], /^dict$/) >= 0,
    what: () => "`sys.modules` keeps every module imported or put there: modules made per call (generated code, `types.ModuleType`) stay",
    fix: "Reuse one module per source, or `del sys.modules[name]` when it is done.",
  },
];

/** "Pricer.price" from an lru_cache root step "Pricer.price (lru_cache Pricer.price)", or "". */
function cachedName(p: RetainerReport): string {
  const kind = p.path[0] ? stepKind(p.path[0]) : null;
  const m = kind ? /^lru_cache (.+)$/.exec(kind) : null;
  return m ? m[1]! : "";
}

/** A method's cache: the key's first item is an instance of the method's class (`Pricer.price` → `[0] (Pricer)`). */
function methodCache(p: RetainerReport): boolean {
  const name = cachedName(p);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return false;
  const cls = name.slice(0, dot).split(".").pop()!;
  const key = p.path.findIndex((s) => stepName(s) === "key");
  return key >= 0 && p.path[key + 1] !== undefined && stepName(p.path[key + 1]!) === "[0]" && stepKind(p.path[key + 1]!) === cls;
}

/**
 * The standard library table that holds a leak's objects, from its paths (a path with under a fifth
 * of the largest one's objects is not the leak's story). The tables are tried in the order above, each
 * on every such path: a logger kept in `loggerDict` explains the handlers it holds, and one path that
 * shows a cache's key holding `self` makes it a method's cache for the paths that end at the key.
 * Undefined when no table holds them.
 */
export function knownHolder(leak: Pick<LeakReport, "retainers" | "unreachable" | "owner">): LeakHolder | undefined {
  const view = smallViews(leak.owner);
  if (view) return view;
  if (leak.unreachable || !leak.retainers.length) return undefined;
  const most = Math.max(...leak.retainers.map((r) => r.objects));
  const paths = leak.retainers.filter((r) => r.objects * 5 >= most);
  for (const k of KNOWN) {
    // A table is judged by the leak's largest path (a small path's few objects would let a logger's
    // one handler pass for the table that keeps them).
    const path = paths.find((p) => k.holds({ ...p, objects: most }));
    if (path) return { id: k.id, what: k.what(path), fix: k.fix };
  }
  return undefined;
}

/**
 * numpy arrays that are small views of big arrays (the agent's owner words: "ndarray 4 float64, a
 * view of a 200×200 float64 array"), holding at least four times their own size each: a view keeps
 * its whole base array alive.
 */
function smallViews(owner: LeakReport["owner"]): LeakHolder | undefined {
  for (const t of owner?.types ?? []) {
    const m = /^ndarray ([\d×]+|scalar) [a-z]+?(\d+), a view of a ([\d×]+) [a-z]+\d+ array$/.exec(t.desc);
    if (!m || t.objects <= 0) continue;
    const own = (m[1] === "scalar" ? 1 : m[1]!.split("×").reduce((n, d) => n * Number(d), 1)) * (Number(m[2]) / 8);
    const each = t.bytes / t.objects;
    if (each < 4 * Math.max(own, 1)) continue;
    return {
      id: "numpy-view",
      what: `each kept array is a view (${m[1]} items) of a bigger array (${m[3]}), and a view keeps its whole base array alive: ${formatBytes(each)} held per view`,
      fix: "Keep a copy of the part you need (`frame[0, :4].copy()`, `np.array(view)`), so the big array can be freed.",
    };
  }
  return undefined;
}
