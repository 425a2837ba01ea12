import { it } from "vitest";
import fs from "node:fs";
import { readCapture } from "../../src/capture/store.js";
import { analyze } from "../../src/analysis/analyze.js";
import { retainerTargets } from "../../src/analysis/targets.js";
it("targets", () => {
  for (const f of fs.readdirSync("/tmp/scratch").filter((f) => f.endsWith(".lhdb")).sort()) {
    const c = readCapture(`/tmp/scratch/${f}`);
    const p = c.processes[0];
    const r = analyze(c);
    const top = r.leaks[0];
    console.log(f.padEnd(24), "targets", JSON.stringify(retainerTargets(p)), "searched", JSON.stringify(p.retainers?.map((x) => [x.stackId, x.found, x.sampled, x.paths.length, x.unreachable])), "top", top?.stackId, top?.retainerNote ?? "", top?.retainers.length);
  }
});
