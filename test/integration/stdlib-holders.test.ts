// Memory a standard library table keeps (logging's loggers and handlers, warnings' registry, an
// unbounded lru_cache on a method, kept tracebacks, gc.garbage, asyncio's timers, sys.modules): the
// leak's paths go through the table, and the report names it, says why it holds what it holds and
// how to stop it, in the JSON (`leak.holder`) and the terminal. Every kind on Debian's Python; the
// kinds whose tables differ most across versions on every CPython. (`sys.modules` is named only on the
// storage of its dict, which a loaded machine's search did not always reach: its path is a unit test.)
import { describe, expect, it } from "vitest";
import { PROGRAMS, runCli, runLeakhound } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { reportErrors } from "../helpers/schema.js";
import { limiter } from "../helpers/limit.js";

const pythons = findPythons();
const system = pythons.find((p) => p.path === "/usr/bin/python3")?.path ?? pythons[0]!.path;
const FIXTURE = "leak_stdlib_holders.py";

// mode → [the line whose leak the table holds, its holder, what the terminal's "held by:" line says]
const KINDS: Record<string, [number, string, RegExp]> = {
  loggers: [49, "logging-loggers", /keeps every logger `logging\.getLogger\(name\)` has made/],
  handlers: [51, "logging-handlers", /a logger keeps every handler added to it until `removeHandler`/],
  warnings: [53, "warnings-registry", /remembers each distinct warning it has shown/],
  lru: [33, "lru-cache-method", /on the method Pricer\.price keeps every `self`/],
  traceback: [58, "stored-traceback", /a kept exception keeps its traceback/],
  gc: [44, "gc-garbage", /`gc\.garbage` keeps every object/],
  timers: [79, "asyncio-timers", /the event loop keeps every `call_later`/],
};

// Two targets at a time: the machine has two cores, and a starved target's growth looks bounded.
const limited = limiter(2);

async function check(exe: string, mode: string, terminal: boolean) {
  const [line, id, words] = KINDS[mode]!;
  const r = await limited(() => runLeakhound([exe, FIXTURE, mode], ["--quiet"], { cwd: PROGRAMS, env: { LEAK_SECONDS: "5" } }));
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  expect(reportErrors(r.report)).toBeNull();
  expect(r.report.verdict, r.report.reason).toBe("leak");
  const leak = r.report.leaks.find((l: any) => l.site?.file?.endsWith(FIXTURE) && l.site.line === line);
  expect(leak, JSON.stringify(r.report.leaks.map((l: any) => [l.site?.line, l.retainers[0]?.text ?? l.retainerNote]))).toBeTruthy();
  expect(leak.holder?.id, JSON.stringify(leak.retainers.map((p: any) => p.text))).toBe(id);
  expect(leak.holder.what).toMatch(words);
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
  it.concurrent.each(["loggers", "warnings", "lru"])("%s", { retry: 1, timeout: 240_000 }, async (mode) => {
    await check(exe, mode, false);
  });
});
