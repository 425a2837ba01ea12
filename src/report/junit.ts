// JUnit XML for CI test reports: one test case per process (or per test, when the
// report names tests), failed by the leaks found in it. Read by GitLab, Jenkins,
// GitHub test-report actions and most CI systems.
import fs from "node:fs";
import type { Report } from "./model.js";
import { leakMessage } from "./ci-leaks.js";
import { commandLine } from "./units.js";

/** Text and attribute values: the five XML entities, and characters XML 1.0 cannot hold dropped. */
export function xmlEscape(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "")
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "") // lone surrogates
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

export function toJunit(report: Report): string {
  const cases: string[] = [];
  let failures = 0;
  for (const p of report.processes) {
    const leaks = report.leaks.filter((l) => l.pid === p.pid || l.processes?.some((m) => m.pid === p.pid));
    const name = `pid ${p.pid}: ${commandLine(p.argv)}`;
    const attrs = `classname="leakhound.process" name="${xmlEscape(name)}" time="${p.durationSec.toFixed(3)}"`;
    if (leaks.length === 0) {
      cases.push(`    <testcase ${attrs}/>`);
      continue;
    }
    failures++;
    const body = leaks
      .map((l) => `#${l.rank} ${l.site ? `${l.site.file}:${l.site.line} in ${l.site.function}` : l.kind}\n${leakMessage(l)}`)
      .join("\n\n");
    const first = leaks[0]!;
    const message = `${leaks.length} leak${leaks.length > 1 ? "s" : ""}; first at ${first.site ? `${first.site.file}:${first.site.line}` : first.kind}`;
    cases.push(
      `    <testcase ${attrs}>\n      <failure message="${xmlEscape(message)}" type="leak">${xmlEscape(body)}</failure>\n    </testcase>`,
    );
  }
  const total = report.processes.length;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="leakhound" tests="${total}" failures="${failures}" errors="0">\n` +
    `  <testsuite name="${xmlEscape(`leakhound: ${commandLine(report.target.argv)}`)}" tests="${total}" failures="${failures}" errors="0" skipped="0" time="${report.durationSec.toFixed(3)}">\n` +
    cases.join("\n") +
    (cases.length ? "\n" : "") +
    `  </testsuite>\n</testsuites>\n`
  );
}

export function writeJunit(report: Report, file: string): void {
  fs.writeFileSync(file, toJunit(report));
}
