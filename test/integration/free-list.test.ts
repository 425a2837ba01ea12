// Objects that reuse the memory of dead objects from CPython's free lists (dicts, tuples, floats)
// without an allocation: the line that builds the leaked objects ranks above the line whose dead
// objects' memory they reuse, and that line, when it is reported, says so. Every CPython 3.8–3.13.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROGRAMS, runLeakhound } from "../helpers/cli.js";
import { findPythons } from "../helpers/pythons.js";
import { reportErrors } from "../helpers/schema.js";

const pythons = findPythons();
const FIXTURE = "leak_freelist.py";
const source = fs.readFileSync(path.join(PROGRAMS, FIXTURE), "utf8").split("\n");

/** The fixture's line (1-based) marked `# <mark>` inside `def handle_<kind>`. */
function lineOf(kind: string, mark: string): number {
  const start = source.findIndex((l) => l.startsWith(`def handle_${kind}(`));
  const i = source.findIndex((l, k) => k > start && l.trimEnd().endsWith(`# ${mark}`));
  expect(start).toBeGreaterThanOrEqual(0);
  expect(i).toBeGreaterThan(start);
  return i + 1;
}

describe.each(pythons.map((p) => [p.version, p.path] as const))("CPython %s", (_version, exe) => {
  it.each(["dict", "keys", "tuple", "float"])("a %s reused from the free list is not charged to the response line", async (kind) => {
    const r = await runLeakhound([exe, FIXTURE], ["--quiet"], { env: { LEAK_SECONDS: "4", LEAK_KIND: kind } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("served 1\n");
    expect(reportErrors(r.report), `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`).toBeNull();
    expect(r.report.verdict).toBe("leak");
    const leaks: any[] = r.report.leaks;
    const at = (line: number) => leaks.findIndex((l) => l.site?.file.endsWith(FIXTURE) && l.site.line === line);
    const leakLine = lineOf(kind, "leak");
    const responseLine = lineOf(kind, "response");
    const real = at(leakLine);
    const response = at(responseLine);
    const seen = JSON.stringify(leaks.map((l) => [l.site?.line, l.growthBytes, l.freeListBytes, l.reusedFromFreeList, l.retainerNote, l.retainers?.length]));
    expect(real, seen).toBeGreaterThanOrEqual(0);
    if (response >= 0) {
      expect(response, seen).toBeGreaterThan(real);
      expect(leaks[response].reusedFromFreeList, seen).toBe(true);
      expect(leaks[response].freeLists).toContain(kind === "keys" ? "dict" : kind);
      // Its paths are those of the objects made from its memory (the search counts its free-listed
      // blocks for it), never "nothing refers to it".
      expect(leaks[response].retainerNote ?? "", seen).not.toMatch(/nothing refers/);
      // Or, when the search at exit did not count those blocks for it (its free-list share was
      // judged on the run so far, rare under load), the note that says where they went.
      if (leaks[response].retainers?.length) expect(leaks[response].retainers[0].text, seen).toMatch(/^module __main__ → (HEADERS|PAIRS|TIMINGS) /);
      else expect(leaks[response].retainerNote, seen).toMatch(/reused from CPython's free list by objects other lines made|searched/);
    }
    expect(leaks[real].reusedFromFreeList).toBeUndefined();
    // The response line's memory is on the sites list with its free-list share.
    const row = r.report.sites.find((s: any) => s.site?.file.endsWith(FIXTURE) && s.site.line === responseLine);
    if (row) {
      expect(row.freeLists, JSON.stringify(row)).toContain(kind === "keys" ? "dict" : kind);
      expect(row.freeListBytes, JSON.stringify(row)).toBeGreaterThan(0.5 * row.liveBytes);
    }
  });
});
