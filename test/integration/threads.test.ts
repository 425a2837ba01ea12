// Threads that pile up (a ThreadPoolExecutor per request, never shut down): the report counts the
// process's threads, says they are started and never end, and names the memory their own start-up
// allocates in C (no Python frame) for what it is; a shared pool that levels off says nothing of
// the kind. The count comes from the kernel, read by the agent at each sample, on every CPython.
import { describe, expect, it } from "vitest";
import { PROGRAMS, runCli, runLeakhound } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { reportErrors } from "../helpers/schema.js";

const pythons = findPythons();
const FIXTURE = "leak_threads.py";

describe.each(pythons.map((p) => [p.version, p.path] as const))("CPython %s", (version, exe) => {
  it("threads started per request and never ended are counted and named", { retry: 1 }, async () => {
    const r = await runLeakhound([exe, FIXTURE], ["--quiet"], { cwd: PROGRAMS, env: { LEAK_SECONDS: "5", LEAK_MODE: "executor" } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toBe("handled 1\n");
    expect(reportErrors(r.report)).toBeNull();
    const threads = r.report.threads;
    expect(threads, JSON.stringify(r.report.processes[0]?.threads)).toBeDefined();
    expect(threads.growing).toBe(true);
    // One worker per request at ~100 requests a second (fewer under load): far more than a pool.
    expect(threads.end).toBeGreaterThan(threads.start + 50);
    expect(threads.ratePerSec).toBeGreaterThan(5);
    expect(r.report.verdict).toBe("leak");
    expect(r.report.reason).toMatch(/threads \d+ → \d+, still growing/);
    // The Thread objects' leak: a path through threading's table of running threads.
    const texts = r.report.leaks.flatMap((l: any) => (l.retainers ?? []).map((x: any) => x.text));
    expect(texts.some((t: string) => /^module (threading|__main__) → (_active|POOLS)/.test(t)), texts.join("\n")).toBe(true);
    // Named by threading's table when that is what keeps them (running-threads).
    for (const l of r.report.leaks.filter((x: any) => /^module threading → _active /.test(x.retainers?.[0]?.text ?? ""))) {
      expect(l.holder?.id, l.retainers[0].text).toBe("running-threads");
    }
    // A native leak with no Python frame (a sampler shim ran) says what it most likely is.
    for (const l of r.report.leaks.filter((x: any) => x.kind === "native" && x.site?.file === "<unknown>")) {
      expect(`${l.retainerNote ?? ""} ${l.evidence}`).toMatch(/thread/);
    }
    // The terminal report, from the saved capture.
    const text = await runCli(["report", `${r.dir}/capture.lhdb`]);
    expect(text.stdout).toMatch(/threads {4}\d+ → \d+, still growing \(\+[\d.,]+\/s\): threads are started and never end/);
    expect(text.stdout).not.toContain("<unknown>");
    void version;
  });
});

describe("a shared pool", () => {
  it("levels off: no growing threads, no threads line", async () => {
    const exe = pythons.find((p) => p.path === "/usr/bin/python3")?.path ?? pythons[0].path;
    const r = await runLeakhound([exe, FIXTURE], [], { cwd: PROGRAMS, env: { LEAK_SECONDS: "5", LEAK_MODE: "pool" } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(reportErrors(r.report)).toBeNull();
    expect(r.report.threads).toMatchObject({ growing: false });
    expect(r.report.threads.peak).toBeLessThanOrEqual(8);
    expect(r.report.verdict).toBe("no-leak");
    expect(r.stdout).not.toMatch(/^ {2}threads/m);
  });
});
