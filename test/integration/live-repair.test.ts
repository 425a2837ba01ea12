// An asyncio service whose connection tasks wait forever: the program is still running when the live
// search explains it (asyncio.run cancels the tasks at its end, before the exit search), and its
// event loop replaces its timer handles every half millisecond meanwhile. The report still names
// the Event whose waiters keep the connections (walk.py repairs the paths the loop changed). It runs
// 24 s: with 8 s, a machine loaded by the rest of the suite (or three busy loops on two cores) ended
// the program before the analysis was sure enough to ask for a live search, and only the exit's
// search, after asyncio.run's cancel, was left; 14 s passed twice in a full run and then failed twice
// in one (session 37's fresh-clone CI).
import { describe, expect, it } from "vitest";
import { PROGRAMS, runLeakhound } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { reportErrors } from "../helpers/schema.js";

const pythons = findPythons();
const exe = pythons.find((p) => p.path === "/usr/bin/python3")?.path ?? pythons[pythons.length - 1].path;

describe("a live search of a running event loop", () => {
  it("names the Event whose waiters keep every connection", { retry: 1 }, async () => {
    const r = await runLeakhound([exe, "leak_asyncio_waiters.py"], ["--quiet"], { cwd: PROGRAMS, env: { LEAK_SECONDS: "24" } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toBe("served 1\n");
    expect(reportErrors(r.report)).toBeNull();
    expect(r.report.verdict).toBe("leak");
    const line = r.report.leaks.find((l: any) => l.site?.file.endsWith("leak_asyncio_waiters.py") && l.site.line === 13);
    expect(line, JSON.stringify(r.report.leaks.map((l: any) => [l.site?.line, l.retainers?.[0]?.text]))).toBeDefined();
    const texts = line.retainers.map((x: any) => x.text).join("\n");
    expect(texts).toMatch(/local variable closed \(Event\) → \._waiters \(deque, [\d,–]+ items\) → \[\*\] \(Future\) → awaited by \(task serve\) → local variable conn \(Conn\)/);
  });
});
