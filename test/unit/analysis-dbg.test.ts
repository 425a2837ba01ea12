import { it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { readCapture } from "../../src/capture/store.js";
import { analyze } from "../../src/analysis/analyze.js";
it("reanalyze", () => {
  for (const f of fs.readdirSync("/tmp/scratch").filter((f) => f.endsWith(".lhdb")).sort()) {
    const r = analyze(readCapture(`/tmp/scratch/${f}`));
    const top = r.leaks[0];
    console.log(f.padEnd(24), r.verdict.padEnd(12), top ? `${top.kind} ${path.basename(top.site?.file ?? "?")}:${top.site?.line}` : "-", "|", r.reason.slice(0, 200), "|", r.leaks.map((l) => `${l.kind}:${l.site?.line}:${(l.growthBytes / 1e6).toFixed(1)}`).join(","));
  }
});
