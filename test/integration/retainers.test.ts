// "Why does it stay alive": the retainer search (agent/leakhound_agent/retainers)
// on every CPython 3.8+ found, one small program per leak pattern. Each program
// in test/fixtures/retainers builds its leak, asks find_retainers about the
// stack that allocated the leaked objects (with a real tracemalloc-based
// collector) and prints the answer as JSON.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AGENT_DIR, cleanEnv, runPython } from "../helpers/agent-host.js";
import { findPythons } from "../helpers/pythons.js";

const FIXTURES = path.resolve(__dirname, "../fixtures/retainers");
const PYTHONS = findPythons();

interface Path {
  rootKind: string;
  root: string;
  steps: string[];
  objects: number;
  bytes: number;
  estObjects?: number;
  estBytes?: number;
  errObjects?: number;
  errBytes?: number;
  exact?: boolean;
}
interface Result {
  found: number;
  sampled: number;
  unreachable: boolean;
  note: string | null;
  paths: Path[];
}
interface Output {
  results: Result[];
  visited: number;
  elapsedSec: number;
  truncated: boolean;
  python: string;
  [extra: string]: unknown;
}

async function fixture(python: string, name: string, env: Record<string, string> = {}): Promise<Output> {
  const run = await runPython(python, [path.join(FIXTURES, name)], {
    cwd: FIXTURES,
    env: cleanEnv({ PYTHONPATH: AGENT_DIR, PYTHONDONTWRITEBYTECODE: "1", ...env }),
    timeoutMs: 150_000,
  });
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const out = JSON.parse(run.stdout) as Output;
  expect(out.truncated).toBe(false);
  return out;
}

/** The most common path shape, as one line. */
function top(result: Result): string {
  const p = result.paths[0];
  expect(p, "no path").toBeDefined();
  return `${p.rootKind} | ${p.root} | ${p.steps.join(" → ")}`;
}

function allPaths(result: Result): string[] {
  return result.paths.map((p) => `${p.rootKind} | ${p.root} | ${p.steps.join(" → ")}`);
}

describe.each(PYTHONS)("retainers on Python $version", ({ path: python, version }) => {
  it("clusters paths into shapes", async () => {
    const run = await runPython(python, [path.join(FIXTURES, "cluster_shapes.py")], {
      cwd: FIXTURES,
      env: cleanEnv({ PYTHONPATH: AGENT_DIR, PYTHONDONTWRITEBYTECODE: "1" }),
    });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual([
      { text: "LOG (list, 30 items) → [*] (dict, 2 items) → ['body'] (str)", objects: 30, bytes: 300 },
      { text: "CACHE (dict, 20 items) → [*] (bytes)", objects: 20, bytes: 2000 },
      { text: "BATCHES (list, 3 items) → [0] (list, 40–52 items)", objects: 3, bytes: 30 },
      { text: "ONE (list, 1,000 items) → [*] (str)", objects: 1, bytes: 10 },
      { text: "PAIR (tuple, 2 items) → [1] (str)", objects: 1, bytes: 10 },
    ]);
  });

  it("estimates each path without bias, with an error that covers the truth (synthetic samplings)", async () => {
    const run = await runPython(python, [path.join(FIXTURES, "estimate_math.py"), "200"], {
      cwd: FIXTURES,
      env: cleanEnv({ PYTHONPATH: AGENT_DIR, PYTHONDONTWRITEBYTECODE: "1" }),
    });
    expect(run.stderr).toBe("");
    const out = JSON.parse(run.stdout) as {
      reps: number;
      paths: { path: string; bias: number; biasBytes: number; within2: number; within2Bytes: number; relErr: number }[];
    };
    expect(out.paths.map((p) => p.path)).toEqual(["A/0", "B/0", "B/1"]);
    for (const p of out.paths) {
      // The mean of 200 estimates is the truth within its own standard error (relErr / √200), three times.
      const bound = (3 * p.relErr) / Math.sqrt(out.reps) + 0.005;
      expect(Math.abs(p.bias), p.path).toBeLessThan(bound);
      expect(Math.abs(p.biasBytes), p.path).toBeLessThan(bound);
      // About 95% of the estimates fall within two stated standard errors of the truth.
      for (const within of [p.within2, p.within2Bytes]) {
        expect(within / out.reps, p.path).toBeGreaterThanOrEqual(0.88);
        expect(within / out.reps, p.path).toBeLessThanOrEqual(0.995);
      }
    }
  });

  it("module global list of records", async () => {
    const out = await fixture(python, "global_list.py");
    const [records, payloads] = out.results;
    expect(records.found).toBeGreaterThanOrEqual(7_900); // 4,000 dicts + their label lists
    expect(records.sampled).toBe(200);
    expect(records.unreachable).toBe(false);
    expect(allPaths(records)).toEqual(
      expect.arrayContaining([
        "module global | module __main__ | REQUESTS (list, 4,000 items) → [*] (dict, 3 items)",
        "module global | module __main__ | REQUESTS (list, 4,000 items) → [*] (dict, 3 items) → ['labels'] (list, 2 items)",
      ]),
    );
    expect(payloads.found).toBe(4_000);
    expect(top(payloads)).toBe(
      "module global | module __main__ | REQUESTS (list, 4,000 items) → [*] (dict, 3 items) → ['payload'] (str)",
    );
    expect(payloads.paths[0].objects).toBe(200);
    expect(payloads.paths[0].bytes).toBeGreaterThan(200 * 300);
    // Paths traced for 200 of the 4,000 strings, but every one is known (p = 1): all 4,000 on the one path,
    // their sys.getsizeof summed (each string is one dict's value: not counted in a container of their own).
    expect(payloads.paths[0]).toMatchObject({ estObjects: 4_000, errObjects: 0, errBytes: 0, exact: false });
    expect(payloads.paths[0].estBytes).toBeGreaterThan(4_000 * 300);
    expect(payloads.paths[0].estBytes).toBeLessThan(4_000 * 400);
  });

  it("dict cache with tuple keys", async () => {
    const [memo] = (await fixture(python, "dict_cache.py")).results;
    expect(memo.found).toBe(3_000);
    expect(top(memo)).toBe("module global | module __main__ | _MEMO (dict, 3,000 items) → [*] (str)");
  });

  it("strings kept only as a dict's keys, by the C walk and the Python one", async () => {
    for (const env of [{}, { LEAK_PY_WALK: "1" }] as Record<string, string>[]) {
      const [keys, members] = (await fixture(python, "string_keys.py", env)).results;
      expect(keys.found).toBe(3_000);
      expect(keys.unreachable).toBe(false);
      expect(top(keys)).toBe("module global | module __main__ | SEEN (dict, 3,000 items) → key (str)");
      expect(members.found).toBe(3_000);
      expect(top(members)).toBe("module global | module __main__ | TAGS (set, 3,000 items) → member (str)");
    }
  });

  it("containers bigger than one step of the walk", async () => {
    const out = await fixture(python, "big_containers.py");
    const [tuples, texts, lists, tail] = out.results;
    expect(tuples.found).toBeGreaterThan(59_900); // a few tuples come from the free list
    expect(top(tuples)).toBe("module global | module __main__ | ROWS (list, 60,000 items) → [*] (tuple, 2 items)");
    expect(texts.found).toBe(60_000);
    expect(top(texts)).toBe(
      "module global | module __main__ | ROWS (list, 60,000 items) → [*] (tuple, 2 items) → [1] (str)",
    );
    expect(lists.found).toBeGreaterThan(39_900);
    expect(top(lists)).toBe("module global | module __main__ | INDEX (dict, 40,000 items) → [*] (list, 1 item)");
    expect(tail.found).toBe(1);
    expect(top(tail)).toBe("module global | module __main__ | FILLER (list, 100,001 items) → [*] (list, 1 item)");
    // Counted in the containers the walk reached: every tuple in ROWS (a few come from the free list,
    // charged to another stack, and are counted all the same), every list in INDEX, the one list in FILLER.
    const tupleSize = tuples.paths[0].estBytes! / 60_000;
    expect(tuples.paths[0]).toMatchObject({ estObjects: 60_000, errObjects: 0, errBytes: 0, exact: true });
    expect([56, 64, 72]).toContain(tupleSize); // sys.getsizeof of a 2-tuple, 3.8-3.13
    expect(lists.paths[0]).toMatchObject({ estObjects: 40_000, exact: true });
    expect(tail.paths[0]).toMatchObject({ estObjects: 1, exact: true });
    // The strings in the tuples: estimated over every string of the stack (p = 1: all 60,000, error 0).
    expect(texts.paths[0]).toMatchObject({ estObjects: 60_000, errObjects: 0, exact: false });
    // The 100,000 references to one int are not 100,000 visits.
    expect(out.visited).toBeLessThan(300_000);
  });

  it("class-level registry list", async () => {
    const [sessions, items] = (await fixture(python, "class_registry.py")).results;
    expect(sessions.found).toBe(2_000);
    expect(top(sessions)).toBe("class attribute | module __main__ | Session.registry (list, 2,000 items) → [*] (Session)");
    expect(allPaths(items)).toContain(
      "class attribute | module __main__ | Session.registry (list, 2,000 items) → [*] (Session) → .items (list, 10 items) → [*] (tuple, 2 items)",
    );
  });

  it("instance attribute list of closures (observer)", async () => {
    const [buffers] = (await fixture(python, "observer.py")).results;
    expect(buffers.found).toBeGreaterThan(1_400);
    expect(top(buffers)).toBe(
      "module global | module __main__ | DISPATCH (Dispatcher) → ._listeners (list, 1,500 items) → " +
        "[*] (function connect.<locals>.on_message) → closure var buffer (list, 300 items)",
    );
  });

  it("lru_cache on a method keeps self alive", async () => {
    const [instances, rates] = (await fixture(python, "lru_method.py")).results;
    expect(allPaths(instances)).toContain(
      "lru_cache | module __main__ | Quoter.quote (lru_cache Quoter.quote) → cache (dict, 1,500 items) → key (tuple, 2 items) → [0] (Quoter)",
    );
    expect(top(rates)).toBe(
      "lru_cache | module __main__ | Quoter.quote (lru_cache Quoter.quote) → cache (dict, 1,500 items) → " +
        "key (tuple, 2 items) → [0] (Quoter) → .rates (list, 100 items) → [*] (float)",
    );
  });

  it("logging handlers never removed", async () => {
    const [streams, handlers] = (await fixture(python, "logging_handlers.py")).results;
    expect(streams.found).toBe(1_500);
    expect(top(streams)).toBe(
      "module global | module __main__ | log (Logger) → .handlers (list, 1,500 items) → [*] (StreamHandler) → .stream (StringIO)",
    );
    expect(top(handlers)).toBe("module global | module __main__ | log (Logger) → .handlers (list, 1,500 items) → [*] (StreamHandler)");
  });

  it("a linked chain reads as one step with its length, so nodes at every depth share one shape", async () => {
    const [nodes] = (await fixture(python, "linked_chain.py")).results;
    expect(nodes.found).toBe(600);
    expect(top(nodes)).toMatch(/^module global \| module __main__ \| HISTORY \(History\) → \.head \(Node\) → \.next \(Node, [\d,]+–[\d,]+ in a chain\)$/);
    expect(nodes.paths[0]!.objects).toBeGreaterThan(100);
  });

  it("classes made per call and kept in a table: one path shape whatever their names; their entries in the base's table of subclasses named as such", async () => {
    const [fields, classes] = (await fixture(python, "classes_per_call.py")).results;
    expect(fields.found).toBeGreaterThanOrEqual(2_000);
    expect(top(fields)).toMatch(/^module global \| module __main__ \| MODELS \(dict, 400 items\) → \[\*\] \(classes Row\d+, Row\d+, …\) → \.fields \(list, 5 items\) → \[\*\] \(str\)$/);
    expect(fields.paths[0]!.objects).toBeGreaterThan(120);
    const all = classes.paths.map((p) => `${p.rootKind} | ${p.root} | ${p.steps.join(" → ")}`);
    expect(all.some((t) => /^module global \| module __main__ \| MODELS \(dict, 400 items\) → \[\*\] \(classes Row\d+, Row\d+, …\)/.test(t)), all.join("\n")).toBe(true);
    const table = classes.paths.filter((p) => p.rootKind === "subclass table");
    expect(table.length, all.join("\n")).toBeGreaterThan(0);
    for (const p of table) expect(p.root).toMatch(/^(the table|an entry in the table) of subclasses of Base \(type\.__subclasses__/);
    expect(classes.paths.some((p) => p.rootKind === "no referrer"), all.join("\n")).toBe(false);
  });

  it("a shared object is named from the module that defines it (a name imported from it, logging's manager)", async () => {
    const [rows, loggers] = (await fixture(python, "module_homes.py")).results;
    expect(rows.found).toBeGreaterThanOrEqual(1_500);
    expect(top(rows)).toBe("module global | module homes.cache | _CACHE (dict, 1,500 items) → [*] (list, 3 items)");
    expect(loggers.found).toBeGreaterThanOrEqual(1_500);
    expect(top(loggers)).toMatch(/^class attribute \| module logging \| Logger\.manager \(Manager\) → \.loggerDict \(dict, [\d,]+ items\) → \[\*\] \(Logger\)$/);
  });

  it("containers with a bound (deque maxlen, bounded lru_cache) say it, and each path carries it", async () => {
    const [events, pages] = (await fixture(python, "bounded_containers.py")).results;
    expect(events.found).toBe(1_500);
    expect(top(events)).toBe("module global | module __main__ | HISTORY (deque, at most 200,000, 1,500 items) → [*] (str)");
    expect((events.paths[0] as any).bound).toEqual({ limit: 200_000, size: 1_500, step: 0 });
    expect(pages.found).toBe(1_500);
    expect(top(pages)).toBe("lru_cache | module __main__ | render (lru_cache render, at most 5,000, 1,500 entries) → cache entry (str)");
    expect((pages.paths[0] as any).bound).toEqual({ limit: 5_000, size: 1_500, step: 0 });
  });

  it("a live search while an event loop runs on: paths whose links the loop changed are repaired", async () => {
    const [conns, buffers] = (await fixture(python, "asyncio_live.py")).results;
    expect(conns.found).toBe(1_500);
    expect(buffers.found).toBe(1_500);
    // The walk reached the main task through a timer handle that has run since: the path goes through
    // what holds it now (the loop's current handle), then on as the walk found it. A search that finds
    // the main coroutine on asyncio.run's own frames (a local variable of asyncio.run or, from 3.11,
    // of its Runner.run: `main`, `coro`) is as right.
    expect(top(buffers)).toMatch(
      /(\(task main\)|local variable (main|coro) \(coroutine main\)) → local variable closed \(Event\) → \._waiters \(deque, 1,500 items\) → \[\*\] \(Future\) → awaited by \(task serve\) → local variable conn \(Conn\) → \.buf \(bytearray, 2,000 bytes\)$/,
    );
  });

  it("a value set in a thread's ContextVar: the context the interpreter holds is its root, not a leak in C", async () => {
    const [strings] = (await fixture(python, "context_var.py")).results;
    expect(strings.found).toBe(1_500);
    expect(strings.unreachable).toBe(false);
    expect(top(strings)).toBe(
      "thread context | a thread's contextvars context (the interpreter holds it) | [ContextVar 'request_log'] (list, 1,500 items) → [*] (str)",
    );
  });

  it("callbacks registered with atexit per call: named as atexit's, with its count, not a leak in C", async () => {
    const [buffers] = (await fixture(python, "atexit_callbacks.py")).results;
    expect(buffers.found).toBeGreaterThan(1_400);
    expect(buffers.unreachable).toBe(false);
    if (/^3\.[89]\./.test(version)) {
      // Up to 3.9 the atexit module's C state is visible to gc: a plain path from the module.
      expect(top(buffers)).toBe(
        "module global | module atexit | registered callback (method Connection.close) → __self__ (Connection) → .buffer (list, 200 items)",
      );
      return;
    }
    expect(top(buffers)).toBe(
      "atexit | method Connection.close registered with atexit (most likely) | __self__ (Connection) → .buffer (list, 200 items)",
    );
    expect(buffers.note).toMatch(/^held by atexit, most likely: the interpreter holds 1,50\d callbacks registered with atexit\.register/);
  });

  it("exceptions kept with their tracebacks", async () => {
    const [chunks] = (await fixture(python, "exceptions_kept.py")).results;
    expect(chunks.found).toBeGreaterThan(20_000); // 1,500 lists of 15 strings
    expect(top(chunks)).toMatch(
      new RegExp(
        "^module global \\| module __main__ \\| FAILURES \\(list, 1,500 items\\) → \\[\\*\\] \\(KeyError\\) → " +
          "__traceback__ \\(traceback\\) → tb_next \\(traceback\\) → tb_frame \\(frame decode at exceptions_kept.py:\\d+\\) → " +
          "local variable chunks \\(list, 15 items\\) → \\[\\*\\] \\(str\\)$",
      ),
    );
  });

  it("dict filled by worker threads", async () => {
    const [bodies] = (await fixture(python, "thread_dict.py")).results;
    expect(bodies.found).toBe(3_000);
    expect(top(bodies)).toBe("module global | module __main__ | HANDLED (dict, 3,000 items) → [*] (str)");
  });

  it("thread-local storage of live threads", async () => {
    const [buffers] = (await fixture(python, "thread_local.py")).results;
    expect(buffers.found).toBeGreaterThanOrEqual(800); // 4 threads x 200 bytes objects
    expect(top(buffers)).toBe(
      "thread-local | module __main__ | SCRATCH (_local) → thread-local .buffer (list, 200 items) → [*] (bytes)",
    );
  });

  it("objects held only by a running thread's local variable", async () => {
    const [rows] = (await fixture(python, "thread_stack.py")).results;
    expect(rows.unreachable).toBe(false);
    expect(top(rows)).toMatch(
      /^thread stack \| thread cruncher \(thread_stack\.py:\d+ crunch\) \| local variable working_set \(list, 500 items\) → \[\*\] \(tuple, 3 items\)/,
    );
  });

  it("unreachable cycles while gc is disabled", async () => {
    const out = await fixture(python, "gc_cycles.py");
    expect(out.gcEnabled).toBe(false);
    const [blobs] = out.results;
    expect(blobs.found).toBe(2_000);
    expect(blobs.unreachable).toBe(true);
    expect(blobs.note).toBe("unreachable reference cycle kept only because gc is disabled");
    expect(top(blobs)).toBe("unreachable cycle | Node in an unreachable reference cycle | .blob (bytearray, 200 bytes)");
  });

  it("unreachable cycles while gc is enabled (awaiting collection)", async () => {
    const out = await fixture(python, "cycles_pending.py");
    expect(out.gcEnabled).toBe(true);
    const [data] = out.results;
    expect(data.found).toBe(1_000);
    expect(data.unreachable).toBe(true);
    expect(data.note).toBe("unreachable cycle awaiting collection");
    expect(top(data)).toBe("unreachable cycle | Link in an unreachable reference cycle | .data (bytearray, 100 bytes)");
  });

  it("references leaked in C (Py_IncRef)", async () => {
    const [lists, texts] = (await fixture(python, "c_leak.py")).results;
    expect(lists.found).toBeGreaterThan(250);
    expect(lists.unreachable).toBe(true);
    // The evidence: their reference counts against every object the walk read.
    expect(lists.note).toMatch(/^nothing refers to them: refcount 1 each, and none of the [\d,]+ objects the walk read refers to them: a reference leaked in C/);
    expect(top(lists)).toBe("no referrer | list that no Python object refers to | ");
    // Strings are not tracked by gc: with no referrer they cannot be found at all.
    expect(texts.found).toBe(0);
    expect(texts.unreachable).toBe(true);
    expect(texts.note).toMatch(/^nothing refers to it: no Python object holds a reference/);
  });

  it("storage that grew at a line allocating no object", async () => {
    const [list, dict] = (await fixture(python, "storage_growth.py")).results;
    expect(list.found).toBe(1);
    expect(list.note).toMatch(/owned by the objects below/);
    expect(top(list)).toBe("module global | module __main__ | BACKLOG (list, 5,000 items)");
    expect(top(dict)).toBe("module global | module __main__ | SEEN_AT (dict, 5,000 items)");
  });

  it("C buffers that grew inside existing objects (StringIO, array)", async () => {
    const [sinks, samples] = (await fixture(python, "buffer_owner.py")).results;
    expect(sinks.found).toBe(300);
    expect(sinks.note).toMatch(/owned by the objects below/);
    expect(top(sinks)).toBe("module global | module __main__ | SINKS (list, 300 items) → [*] (StringIO)");
    expect(top(samples)).toBe("module global | module __main__ | SAMPLES (array)");
  });

  it("deques, sets, suspended generators, bound methods, partials", async () => {
    const [queued, names, rows, labels, jobs] = (await fixture(python, "shapes.py")).results;
    expect(allPaths(queued)).toContain(
      "module global | module __main__ | QUEUE (deque, 400 items) → [*] (dict, 2 items) → ['text'] (str)",
    );
    expect(top(names)).toBe("module global | module __main__ | NAMES (set, 400 items) → member (str)");
    // Before 3.11 a generator refers to its frame, since to its locals directly: the same words on both.
    expect(top(rows)).toBe(
      "module global | module __main__ | PENDING (list, 400 items) → [*] (generator chunks) → local variable batch (list, 8 items) → [*] (str)",
    );
    expect(allPaths(labels)).toContain(
      "module global | module __main__ | CALLBACKS (list, 400 items) → [*] (method Widget.on_click) → __self__ (Widget) → .label (str)",
    );
    expect(allPaths(jobs)).toContain(
      "module global | module __main__ | JOBS (list, 400 items) → [*] (partial run) → .args[0] (list, 5 items) → [0] (str)",
    );
  });

  it("every step in Python words: defaults, partials, generators, coroutines, weakrefs, slots, attributes, sys.modules", async () => {
    const [memo, seen, cache, args, keywords, gen, coro, weak, slots, classAttr, instanceAttr, module, worker, sink, posonly, lambda] = (
      await fixture(python, "python_words.py")
    ).results;
    const main = "module global | module __main__ | ";
    // A mutable default argument, by its parameter's name; a keyword-only one after a *; a method's.
    expect(allPaths(memo)).toContain(`${main}normalise(_memo={...}) (dict, 300 items) → [*] (list, 1 item)`);
    expect(top(seen)).toBe(`${main}remember(*, _seen=[...]) (list, 300 items) → [*] (tuple, 2 items)`);
    expect(top(cache)).toBe("class attribute | module __main__ | Parser.parse(_cache={...}) (dict, 300 items) → [*] (dict, 1 item)");
    // functools.partial: the function it calls, its positional and keyword arguments.
    expect(allPaths(args)).toContain(`${main}JOBS (list, 300 items) → [*] (partial run) → .args[0] (list, 5 items)`);
    expect(allPaths(keywords)).toContain(`${main}JOBS (list, 300 items) → [*] (partial run) → .keywords['size'] (list, 3 items)`);
    // Suspended generators and coroutines: their locals by name, on every version (no frame step before 3.11).
    expect(allPaths(gen)).toContain(`${main}PENDING (list, 300 items) → [*] (generator chunks) → local variable batch (list, 8 items)`);
    expect(allPaths(coro)).toContain(`${main}COROS (list, 300 items) → [*] (coroutine fetch) → local variable body (list, 4 items)`);
    // A weakref's callback (the weakref named by what it refers to).
    expect(allPaths(weak)).toContain(
      `${main}WATCHES (list, 300 items) → [*] (weakref to Target) → callback (function watch.<locals>.<lambda>) → closure var cache (list, 6 items)`,
    );
    // __slots__ by slot name; a class attribute and an instance attribute of the same name (a managed dict on 3.11+).
    expect(top(slots)).toBe(`${main}POINTS (list, 300 items) → [*] (Point) → .label (str)`);
    expect(top(classAttr)).toBe("class attribute | module __main__ | Store.items (list, 300 items) → [*] (str)");
    expect(top(instanceAttr)).toBe(`${main}STORE (Store) → .items (list, 300 items) → [*] (str)`);
    // An object that is not a module, in sys.modules.
    expect(top(module)).toBe("module global | sys.modules['fake_config'] (Config) | .entries (list, 300 items) → [*] (str)");
    expect(top(worker)).toBe(`${main}WORKERS (list, 3 items) → [*] (Worker) → .results (list, 100 items) → [*] (str)`);
    // A builtin bound method's object; a positional-only default; a lambda's default, by the name it is bound to.
    expect(top(sink)).toBe(`${main}SINKS (list, 300 items) → [*] (method list.append) → __self__ (list, 1 item) → [0] (str)`);
    expect(top(posonly)).toBe(`${main}posonly(_acc=[...]) (list, 300 items) → [*] (str)`);
    expect(top(lambda)).toBe(`${main}tally(_l=[...]) (list, 300 items) → [*] (str)`);
  });

  it("asyncio tasks by their coroutine's name, and the tasks a future wakes", async () => {
    const [kept, loose] = (await fixture(python, "python_words_async.py")).results;
    expect(allPaths(kept)).toContain(
      "module global | module __main__ | TASKS (set, 100 items) → member (task serve) → local variable scratch (list, 5 items)",
    );
    // Kept only by the loop: reached through an Event's waiters (from TASKS, or from the running task, 3.12+).
    expect(allPaths(loose).join("\n")).toMatch(
      / → local variable gate \(Event\) → \._waiters \(deque, 200 items\) → \[\*\] \(Future\) → awaited by \(task linger\) → local variable pending \(list, 5 items\)$/m,
    );
    expect(allPaths(loose).join("\n")).not.toMatch(/referent/);
  });

  it("never runs the program's code, with the walk from Python (tripwire)", async () => {
    const tripwire = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-trip-")), "tripwire");
    const out = await fixture(python, "safety.py", { LEAK_TRIPWIRE: tripwire, LEAK_PY_WALK: "1" });
    expect(out.tripped).toBe("");
    expect(out.tripwire).toBe(false);
    expect(top(out.results[4])).toBe("unreachable cycle | Record in an unreachable reference cycle | .cargo (str)");
  });

  it("never runs the program's code (tripwire)", async () => {
    const tripwire = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-trip-")), "tripwire");
    const out = await fixture(python, "safety.py", { LEAK_TRIPWIRE: tripwire });
    expect(out.tripped).toBe("");
    expect(out.tripwire).toBe(false);
    expect(fs.existsSync(tripwire)).toBe(false);
    const [registry, shelf, errors, boxes, cycles] = out.results;
    expect(registry.found).toBeGreaterThanOrEqual(500);
    expect(allPaths(registry).join("\n")).toContain("REGISTRY (HostileDict, 500 items) → value of a Key key (Record)");
    expect(top(shelf)).toBe("module global | module __main__ | SHELF (HostileList, 500 items) → [*] (Shadowy) → .slot_value (str)");
    expect(allPaths(errors).join("\n")).toContain("ERRORS (list, 500 items) → [*] (HostileError) → args (tuple, 1 item)");
    expect(allPaths(boxes).join("\n")).toContain("class attribute | module __main__ | Record.instances (list, 500 items)");
    expect(cycles.unreachable).toBe(true);
    expect(top(cycles)).toBe("unreachable cycle | Record in an unreachable reference cycle | .cargo (str)");
    // Hostile weak keys whose values refer back, finished hostile threads, classes of a hostile metaclass.
    const [weak, threads, dynamic] = out.results.slice(5);
    expect(allPaths(weak).join("\n")).toContain("WEAK (WeakKeyDictionary) → .data (dict, 500 items) → value that keeps its own weak key, a Key (tuple, 2 items)");
    expect(allPaths(threads).join("\n")).toContain("THREADS (list, 50 items) → [*] (HostileThread, finished)");
    expect(allPaths(dynamic).join("\n")).toMatch(/DYNAMIC \(dict, 500 items\) → \[\*\] \(classes Dyn\d+, Dyn\d+, …\)/);
  });

  it("answers from an atexit handler (3.12 starts no threads by then)", async () => {
    const [journal] = (await fixture(python, "at_exit.py")).results;
    expect(journal.found).toBe(2_000);
    expect(top(journal)).toBe("module global | module __main__ | JOURNAL (list, 2,000 items) → [*] (str)");
  });

  it("says so when the budget cuts the walk short", async () => {
    const run = await runPython(python, [path.join(FIXTURES, "budget.py")], {
      cwd: FIXTURES,
      env: cleanEnv({ PYTHONPATH: AGENT_DIR, PYTHONDONTWRITEBYTECODE: "1" }),
    });
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as Output;
    expect(out.truncated).toBe(true);
    expect(out.elapsedSec).toBeLessThan(5);
    const [rows] = out.results;
    if (rows.found === 0) expect(rows.note).toMatch(/time budget/);
    expect(rows.unreachable).toBe(false);
  });
});
