// Tables of the standard library that keep what a program hands them, named from a leak's
// reference paths: `logging` keeps every logger it made, `warnings` every distinct message it
// showed, an unbounded `lru_cache` every argument. The path already says where the memory is
// held; this says why the library holds it and how to stop it, in one sentence each.
// Computed once here (analyze.ts); every output reads `leak.holder`.
import type { LeakHolder, LeakReport, RetainerReport } from "../report/model.js";
import { stepKind, stepName } from "./causes.js";

interface Known {
  id: string;
  /** Whether this path goes through the library's table. */
  holds(path: RetainerReport): boolean;
  what(path: RetainerReport): string;
  fix: string;
}

/** The index of the first step whose name (without its figures) is one of `names`, and whose kind is `kind` when given; -1 when none. */
function stepAt(path: RetainerReport, names: readonly string[], kind?: RegExp): number {
  return path.path.findIndex((s) => names.includes(stepName(s)) && (!kind || kind.test(stepKind(s) ?? "")));
}

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
    id: "asyncio-timers",
    holds: (p) => stepOf(p, ["._scheduled"], /^list$/, /EventLoop$/),
    what: () =>
      "the event loop keeps every `call_later` / `call_at` timer until it is due, a cancelled one too until the loop purges them: long timeouts made per request pile up, with what their callbacks refer to",
    fix: "Cancel a timer when its work is done (`handle.cancel()`), and bound the wait with `asyncio.timeout()` / `asyncio.wait_for()` rather than a timer per request.",
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
export function knownHolder(leak: Pick<LeakReport, "retainers" | "unreachable">): LeakHolder | undefined {
  if (leak.unreachable || !leak.retainers.length) return undefined;
  const most = Math.max(...leak.retainers.map((r) => r.objects));
  const paths = leak.retainers.filter((r) => r.objects * 5 >= most);
  for (const k of KNOWN) {
    const path = paths.find((p) => k.holds(p));
    if (path) return { id: k.id, what: k.what(path), fix: k.fix };
  }
  return undefined;
}
