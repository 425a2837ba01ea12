// Issue 12, part 3: memory freed only while the program shuts down is still a leak.
// Real programs on the system python3 and one pyenv CPython (3.12 when there is one: it
// refuses new threads at shutdown and joins the threads the threading module knows).
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runLeakhound } from "../helpers/cli.js";
import { findPythons, type PythonInstall } from "../helpers/pythons.js";
import { protocolErrors, reportErrors } from "../helpers/schema.js";

function pythons(): PythonInstall[] {
  const all = findPythons();
  const system = { version: "system", path: "python3" };
  const pyenv = all.find((p) => p.version.startsWith("3.12.")) ?? all[all.length - 1];
  return pyenv ? [system, pyenv] : [system];
}

const LEAKS: { file: string; line: number; what: RegExp; path: RegExp; extra?: string[] }[] = [
  // Thread-local lists of a pool that only the interpreter shuts down (threading._shutdown).
  // (On a loaded machine the pool's join can outlast the mark's grace: then "the program's last threads finished".)
  { file: "exit_pool_threadlocal.py", line: 18, what: /after (the main thread|the program's last threads) finished/, path: /_local .*thread-local \.seen/ },
  // A `with` block around the main loop that clears its list as the program ends.
  { file: "exit_with_session.py", line: 28, what: /after (the main thread finished|the program began to exit)/, path: /\.pending \(list/ },
  // An atexit handler that empties a module-level cache.
  { file: "exit_atexit_cleanup.py", line: 22, what: /after (the main thread finished|the program began to exit)/, path: /_CACHE \(list/ },
  // A service that cleans up on the SIGINT --duration sends.
  { file: "exit_sigint_cleanup.py", line: 11, what: /after leakhound sent SIGINT \(--duration\)/, path: /_SESSIONS \(list/, extra: ["--duration", "8"] },
];

describe.concurrent("freed only at exit is still a leak", () => {
  for (const py of pythons()) {
    for (const c of LEAKS) {
      it(`Python ${py.version}: ${c.file}`, async () => {
        const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lh-proto-")), "protocol.ndjson");
        const r = await runLeakhound([py.path, c.file], ["--quiet", ...(c.extra ?? [])], {
          env: { LEAK_SECONDS: "6", LEAKHOUND_PROTOCOL_LOG: log },
          timeoutMs: 80_000,
        });
        expect(r.report, r.stderr).not.toBeNull();
        expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
        expect(r.report.verdict, r.report.reason).toBe("leak");
        expect(r.report.reason).toContain("freed only at exit");
        const leak = r.report.leaks.find((l: any) => l.site && path.basename(l.site.file) === c.file && l.site.line === c.line);
        expect(leak, JSON.stringify(r.report.leaks.map((l: any) => l.site))).toBeDefined();
        expect(leak.freedAtExit.text).toMatch(c.what);
        expect(leak.freedAtExit.freedBytes).toBeGreaterThan(128 * 1024);
        // Why it stayed alive was found before the cleanup freed it (a live search, the search at
        // the shutdown mark, or the one before --duration's stop).
        expect(leak.retainers.map((x: any) => x.text).join("\n"), leak.retainerNote).toMatch(c.path);
        const lines = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
        for (const m of lines) expect(protocolErrors(m)).toBeNull();
        if (!c.extra) expect(lines.some((m) => m.type === "shutdown")).toBe(true);
      }, 90_000);
    }
    it(`Python ${py.version}: a burst freed mid-run while the program keeps working is not a leak`, async () => {
      const r = await runLeakhound([py.path, "ok_burst_midrun.py"], ["--quiet"], { env: { LEAK_SECONDS: "6" }, timeoutMs: 80_000 });
      expect(r.report, r.stderr).not.toBeNull();
      expect(r.report.verdict, r.report.reason).toBe("no-leak");
      expect(r.report.reason).not.toContain("freed only at exit");
    }, 90_000);
  }
});
