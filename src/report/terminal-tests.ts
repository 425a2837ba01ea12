// The terminal report's tests section (a pytest session): which tests leak, which kept memory
// on their first run only, and pytest's own per-test records, apart.
import type { Report, TestReport } from "./model.js";
import { formatBytes, longFrame } from "./format.js";
import { escapeText } from "./units.js";

interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
}

/** Tests listed in full; the rest are counted. */
const LISTED = 10;

export function renderTests(report: Report, cwd: string | undefined, c: Paint): string[] {
  const tests = report.tests;
  if (!tests) return [];
  const runs = report.testRunner?.tests ?? 0;
  const out = ["", c.bold(`tests`) + c.dim(` (pytest, ${runs} test run${runs === 1 ? "" : "s"} measured after teardown)`)];
  if (tests.length === 0) out.push("   no test kept memory after its teardown");
  for (const t of tests.slice(0, LISTED)) out.push(...testLines(t, report, cwd, c));
  if (tests.length > LISTED) out.push(c.dim(`   … ${tests.length - LISTED} more tests kept memory (see the JSON report's tests[])`));
  const r = report.testRunner;
  if (r && r.tests > 0 && r.bytes > 0) {
    const how = r.estimated ? "; estimated as the median test run, since the collector measured totals only" : "";
    out.push(c.dim(`   pytest's own per-test records: ${formatBytes(r.bytesPerTest)} per test (its reports and bookkeeping; not the suite's leak${how})`));
  }
  return out;
}

function testLines(t: TestReport, report: Report, cwd: string | undefined, c: Paint): string[] {
  const id = escapeText(t.id);
  const site = t.sites[0]?.site;
  const at = site ? `allocated at ${longFrame(site, cwd)}` : "";
  const limit =
    t.maxRetained !== undefined && t.overLimit
      ? c.red(`; over max_retained=${formatBytes(t.maxRetained)} in ${t.overLimit} of ${t.runs} runs`)
      : "";
  if (t.verdict === "leak") {
    const leak = report.leaks.find((l) => l.tests?.some((x) => x.id === t.id));
    const path = leak?.retainers[0]?.text;
    const kept = path ? `, kept alive by ${escapeText(path)}` : leak?.unreachable ? ", and nothing refers to it" : "";
    const per = `+${formatBytes(t.bytesPerRun)} per run${t.bytesPerRunError ? ` ±${formatBytes(t.bytesPerRunError)}` : ""}`;
    const where = `${at}${kept}`.replace(/^, /, "");
    return [`   ${c.red("LEAKS")}       ${id} (${t.runs} runs, ${per})${limit}`, ...(where ? [`               ${where}`] : [])];
  }
  if (t.verdict === "first-run") {
    return [`   ${c.dim("first run")}   ${id}: kept ${formatBytes(t.firstRunBytes)} on its first run only${at ? `, ${at}` : ""} (a cache fill or an import)${limit}`];
  }
  return [`   ${c.yellow("ran once")}    ${id}: kept ${formatBytes(t.keptBytes)}${at ? `, ${at}` : ""}; --repeat 3 tells a leak from a cache fill${limit}`];
}
