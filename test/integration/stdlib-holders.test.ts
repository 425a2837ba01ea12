// Memory a standard library table keeps (logging's loggers, handlers and buffered records, warnings' registry, an
// unbounded lru_cache on a method, kept tracebacks, gc.garbage, asyncio's timers, finished tasks kept,
// itertools.tee's buffer, a mock's calls, weakref.finalize's registry, a queue without maxsize, a
// defaultdict's lookups, sys.path, sys.modules, a small memoryview's buffer, finished futures and threads kept, a WeakKeyDictionary's values
// that keep their keys, generators kept suspended, a ContextVar's list every task adds to, mock patches never stopped, a long-lived ExitStack, warnings filters): the
// leak's paths go through the table, and the report names it, says why it holds what it holds and
// how to stop it, in the JSON (`leak.holder`) and the terminal. Every kind on Debian's Python; the
// kinds whose tables differ most across versions on every CPython. (`sys.modules` is named only on the
// storage of its dict, which a loaded machine's search did not always reach: its path is a unit test.)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROGRAMS, runCli, runLeakhound } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { reportErrors } from "../helpers/schema.js";
import { limiter } from "../helpers/limit.js";

const pythons = findPythons();
const system = pythons.find((p) => p.path === "/usr/bin/python3")?.path ?? pythons[0]!.path;
const FIXTURE = "leak_stdlib_holders.py";

// mode → [text on the line whose leak the table holds, its holder, what the terminal's "held by:" line says]
const KINDS: Record<string, [string, string, RegExp]> = {
  loggers: ['logging.getLogger("jobs.%d"', "logging-loggers", /keeps every logger `logging\.getLogger\(name\)` has made/],
  handlers: ["log.addHandler(", "logging-handlers", /a logger keeps every handler added to it until `removeHandler`/],
  warnings: ["warnings.warn(", "warnings-registry", /remembers each distinct warning it has shown/],
  lru: ["self.rates = ", "lru-cache-method", /on the method Pricer\.price keeps every `self`/],
  traceback: ['rows = ["row %d"', "stored-traceback", /a kept exception keeps its traceback/],
  gc: ['self.blob = "x"', "gc-garbage", /`gc\.garbage` keeps every object/],
  timers: ["loop.call_later(", "asyncio-timers", /the event loop keeps every `call_later`/],
  tasks: ["# tasks:", "done-tasks", /a collection keeps asyncio tasks that have finished/],
  tee: ["# tee:", "itertools-tee", /`itertools\.tee` keeps every item until each of its iterators has read it/],
  mock: ["# mock:", "mock-calls", /a `unittest\.mock` mock records every call/],
  finalize: ["# finalize:", "weakref-finalize", /`weakref\.finalize` keeps its callback and arguments/],
  defaultdict: ["# defaultdict:", "defaultdict-reads", /a `defaultdict` adds an entry for every missing key/],
  queue: ["# queue:", "unbounded-queue", /a queue made without `maxsize`/],
  syspath: ["# syspath:", "sys-path", /`sys\.path` keeps every directory added to it/],
  futures: ["# futures:", "done-futures", /a collection keeps futures that have finished/],
  threads: ["# threads:", "done-threads", /a collection keeps `threading\.Thread` objects that have finished/],
  weakkey: ["# weakkey:", "weak-key-kept", /a `WeakKeyDictionary`'s value refers to its own key \(a Node\)/],
  patch: ["# patch:", "mock-patches", /`unittest\.mock` keeps every patch started with `start\(\)` until it is stopped/],
  exitstack: ["# exitstack:", "exit-stack", /an `ExitStack` keeps every callback and context manager pushed on it/],
  filters: ["# filters:", "warnings-filters", /`warnings\.filters` keeps every filter added/],
  memview: ["# memview:", "memoryview-slice", /each kept memoryview \(8 B\) is a slice of a bigger buffer/],
  logbuffer: ["# logbuffer:", "logging-buffer", /a logging handler that buffers records \(a `MemoryHandler`\) keeps every record until it flushes/],
  contextvar: ["# contextvar: each task adds", "context-var", /the value of the context variable `trail` \(a list\) is one object that every task/],
  generators: ["# generators: the locals", "suspended-generators", /a collection keeps generators of `_rows` that were started and never finished/],
};
const SOURCE = readFileSync(join(PROGRAMS, FIXTURE), "utf8").split("\n");
/** The 1-based line of the fixture that holds `text`. */
function lineOf(text: string): number {
  const i = SOURCE.findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`no line with ${text} in ${FIXTURE}`);
  return i + 1;
}

// Two targets at a time: the machine has two cores, and a starved target's growth looks bounded.
const limited = limiter(2);

async function check(exe: string, mode: string, terminal: boolean) {
  const [text, id, words] = KINDS[mode]!;
  const line = lineOf(text);
  const r = await limited(() => runLeakhound([exe, FIXTURE, mode], ["--quiet"], { cwd: PROGRAMS, env: { LEAK_SECONDS: "5" } }));
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  expect(reportErrors(r.report)).toBeNull();
  expect(r.report.verdict, r.report.reason).toBe("leak");
  const leak = r.report.leaks.find((l: any) => l.site?.file?.endsWith(FIXTURE) && l.site.line === line);
  expect(leak, JSON.stringify(r.report.leaks.map((l: any) => [l.site?.line, l.retainers[0]?.text ?? l.retainerNote]))).toBeTruthy();
  expect(leak.holder?.id, JSON.stringify({ paths: leak.retainers.map((p: any) => p.text), note: leak.retainerNote })).toBe(id);
  // The headline names what keeps the first leak, for one allocation site as for several (on a
  // loaded machine another site, one no path explains, may rank first).
  if (leak.rank === 1) expect(r.report.reason).toMatch(/^\d+ leaks?: [^;]* → [^;]* keeps /);
  expect(leak.holder.what).toMatch(words);
  // A suspended generator's locals read as such, those an inner comprehension uses (cells) too.
  if (mode === "generators" || mode === "contextvar") expect(leak.retainers.map((p: any) => p.text).join("\n")).not.toMatch(/referent of/);
  expect(leak.holder.fix.length).toBeGreaterThan(20);
  if (terminal) {
    const text = await runCli(["report", `${r.dir}/capture.lhdb`]);
    expect(text.stdout).toMatch(new RegExp(`held by: .*${words.source}`));
  }
}

describe("standard library tables, on Debian's Python", () => {
  it.concurrent.each(Object.keys(KINDS))("%s", { retry: 1, timeout: 240_000 }, async (mode) => {
    await check(system, mode, true);
  });
});

describe.each(pythons.filter((p) => p.path !== system).map((p) => [p.version, p.path] as const))("CPython %s", (_version, exe) => {
  it.concurrent.each(["loggers", "warnings", "lru", "mock", "tasks", "memview", "futures", "threads", "weakkey", "filters", "generators", "contextvar"])("%s", { retry: 1, timeout: 240_000 }, async (mode) => {
    await check(exe, mode, false);
  });
});
