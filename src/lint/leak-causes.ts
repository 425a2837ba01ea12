// `leakhound run --lint` / `leakhound report --lint`: lint the user's files that
// the leaks' stacks pass through, and put beside each leak the findings that
// explain it (runtime-link.ts decides the match): the rule's sentence and its fix.
import fs from "node:fs";
import { isUserFrame } from "../analysis/frames.js";
import type { LeakCause, Report } from "../report/model.js";
import { lint } from "./run.js";
import { matchLeaks } from "./runtime-link.js";

/** Lints the leaks' own files and sets `causes` on the leaks it explains; returns how many leaks got one. */
export async function addLeakCauses(report: Report, python = "python3"): Promise<number> {
  const files = new Set<string>();
  for (const leak of report.leaks) {
    for (const f of [leak.site, ...leak.stack]) if (f && isUserFrame(f) && f.file.endsWith(".py") && fs.existsSync(f.file)) files.add(f.file);
  }
  if (!files.size) return 0;
  // Each leak is the evidence that its code ran many times: findings that lack it statically count too.
  const result = await lint({ paths: [...files], python, requireEvidence: false });
  const links = matchLeaks(result.findings, report);
  let explained = 0;
  for (const leak of report.leaks) {
    const causes: LeakCause[] = [];
    result.findings.forEach((f, i) => {
      const via = links[i]!.get(leak);
      if (via) causes.push({ rule: f.rule, file: f.file, line: f.line, column: f.column, message: f.message, fix: f.fix, via });
    });
    if (causes.length) {
      leak.causes = causes;
      explained++;
    }
  }
  return explained;
}
