// Issue 12, part 5: a web handler that keeps each request's context in one module-level
// dict, its parts allocated at several lines, is one leak (one cause), not one per site.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { runCli, runLeakhound } from "../helpers/cli.js";
import { reportErrors } from "../helpers/schema.js";
import { findPythons } from "../helpers/pythons.js";

describe("leaks grouped by cause", () => {
  it("the request log is one cause holding several allocation sites; every output leads with it", async () => {
    const r = await runLeakhound(["python3", "leak_request_contexts.py"], [], { env: { LEAK_SECONDS: "6" } });
    expect(r.report, r.stderr).not.toBeNull();
    expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
    const report = r.report;
    expect(report.verdict).toBe("leak");
    const main = report.causes[0];
    expect(main.label).toBe("module __main__ → _REQUEST_LOG keeps RequestContext objects");
    expect(main.sites).toBeGreaterThanOrEqual(2);
    // The headline counts causes: one bug is one leak.
    expect(report.reason).toMatch(new RegExp(`^${report.causes.length} leaks?: module __main__ → _REQUEST_LOG keeps RequestContext objects; ${main.sites} allocation sites, `));
    // Each site keeps its own detail, and says which cause it is part of.
    const lines = new Set<number>();
    for (const rank of main.leaks) {
      const leak = report.leaks.find((l: any) => l.rank === rank);
      expect(leak.cause).toBe(main.id);
      expect(leak.retainers[0].text).toMatch(/^module __main__ → _REQUEST_LOG \(dict, [\d,]+ items\)/);
      lines.add(leak.site.line);
    }
    expect(lines.size).toBe(main.sites);
    for (const l of report.leaks) expect(report.causes.some((c: any) => c.id === l.cause)).toBe(true);

    // The terminal report leads with the causes, before the first site's card.
    const text = await runCli(["report", path.join(r.dir, "capture.lhdb")]);
    const out = text.stdout;
    expect(out).toContain("by cause:");
    expect(out.indexOf("C1  module __main__ → _REQUEST_LOG keeps RequestContext objects")).toBeGreaterThan(0);
    expect(out.indexOf("by cause:")).toBeLessThan(out.indexOf("#1 python leak"));

    // The HTML report carries the causes to the app (its head).
    const html = path.join(r.dir, "report.html");
    await runCli(["report", "--quiet", path.join(r.dir, "capture.lhdb"), "--html", html]);
    expect(fs.readFileSync(html, "utf8")).toContain("_REQUEST_LOG keeps RequestContext objects");
  }, 90_000);
});

describe.concurrent("a line that only grows small containers allocated elsewhere", () => {
  // The sampled blocks at the append line are the lists' item arrays, not objects: the lists that
  // own them explain it, so it joins the registry's cause instead of "nothing refers to it".
  for (const py of findPythons()) {
    it(`Python ${py.version}: explained by the lists that own the storage, in the registry's cause`, async () => {
      const r = await runLeakhound([py.path, "leak_small_storage.py"], ["--quiet"], { env: { LEAK_SECONDS: "6" } });
      expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
      const leak = r.report.leaks.find((l: any) => l.site?.line === 22 && l.site.file.endsWith("leak_small_storage.py"));
      expect(leak, JSON.stringify(r.report.leaks.map((l: any) => l.site))).toBeDefined();
      expect(leak.unreachable).toBe(false);
      expect(leak.retainerNote).toMatch(/storage \(an item array, a key table, a buffer\) owned by the objects below/);
      expect(leak.retainers[0].text).toMatch(/^module __main__ → _SESSIONS \(list, [\d,]+ items\) → \[\*\] \(Session\) → \.events \(list, 4 items\)$/);
      const cause = r.report.causes.find((c: any) => c.id === leak.cause);
      expect(cause.label).toBe("module __main__ → _SESSIONS keeps Session objects");
      expect(cause.sites).toBeGreaterThan(1);
    }, 120_000);
  }
});
