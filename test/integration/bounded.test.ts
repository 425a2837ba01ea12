// Growth into a container that holds at most so many items and was not full (a deque with maxlen,
// a bounded lru_cache) levels off: the report calls it no leak and says where it stops; a bound
// that is more memory than a process can spend stays a leak and says so.
import { describe, expect, it } from "vitest";
import { PROGRAMS, runLeakhound } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { reportErrors } from "../helpers/schema.js";

const pythons = findPythons();
// The oldest and the newest CPython found (lru_cache's and deque's C getters on both ends).
const ends = [...new Map([pythons[0], pythons[pythons.length - 1]].map((p) => [p.path, p])).values()];
const FIXTURE = "bounded_filling.py";

describe.each(ends.map((p) => [p.version, p.path] as const))("CPython %s", (_version, exe) => {
  it.each(["deque", "lru"])("a %s that does not fill up during the run is bounded growth, not a leak", { retry: 1 }, async (mode) => {
    const r = await runLeakhound([exe, FIXTURE], [], { cwd: PROGRAMS, env: { LEAK_SECONDS: "6", LEAK_MODE: mode } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(reportErrors(r.report)).toBeNull();
    const summary = JSON.stringify({ verdict: r.report.verdict, reason: r.report.reason, leaks: r.report.leaks.map((l: any) => [l.site?.line, l.retainers?.[0]?.text]) });
    expect(r.report.verdict, summary).toBe("no-leak");
    expect(r.report.reason).toMatch(/^growth into a bounded container, not a leak: module __main__ → (HISTORY|render) \((deque|lru_cache render) of at most 400,000, [\d,]+ now\)/);
    const b = r.report.bounded[0];
    expect(b.limit).toBe(400_000);
    expect(b.size).toBeGreaterThan(1_000);
    expect(b.size).toBeLessThan(400_000);
    expect(b.projectedBytes).toBeGreaterThan(b.liveBytes);
    expect(b.leak).toBe(false);
    expect(r.stderr).toMatch(/^ {2}bounded {4}module __main__ → (HISTORY|render) /m);
  });

  it("a bound more memory than a process can spend is a leak, and says so", { retry: 1 }, async () => {
    const r = await runLeakhound([exe, FIXTURE], ["--quiet"], { cwd: PROGRAMS, env: { LEAK_SECONDS: "6", LEAK_MODE: "huge" } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(reportErrors(r.report)).toBeNull();
    expect(r.report.verdict).toBe("leak");
    const top = r.report.leaks.find((l: any) => l.site?.file.endsWith(FIXTURE));
    expect(top.evidence).toMatch(/into a bounded container, but module __main__ → HISTORY \(deque of at most 1,000,000,000, [\d,]+ now\).*: more than a process can spend$/);
  });
});
