import { it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { runSession } from "../../src/host/session.js";
import { readCapture } from "../../src/capture/store.js";
import { analyze } from "../../src/analysis/analyze.js";

const CASES = "/work/shared/corpus/cases";
const only = process.env.CASES?.split(",");
it("corpus", async () => {
  const out: string[] = [];
  for (const name of fs.readdirSync(CASES).sort()) {
    if (only && !only.includes(name)) continue;
    const dir = path.join(CASES, name);
    const expected = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8"));
    const cap = `/tmp/scratch/${name}.lhdb`;
    fs.rmSync(cap, { force: true });
    const prev = process.cwd();
    process.chdir(dir);
    process.env.LEAK_SECONDS = "12";
    try {
      const res = await runSession({ argv: ["python3", "main.py"], capturePath: cap, collector: process.env.COLLECTOR ?? "tracemalloc", intervalSec: 0.5, nframes: 16, sampleBytes: 512 * 1024, durationSec: null, quiet: true, maxObjects: 200, retainerTimeoutSec: 5 });
      res.writer.close();
    } finally { process.chdir(prev); }
    const c = readCapture(cap);
    const r = analyze(c);
    const top = r.leaks[0];
    const line = `${name.padEnd(18)} expect ${expected.leak ? "leak" : "none"} got ${r.verdict.padEnd(12)} top ${top ? path.basename(top.site?.file ?? "?") + ":" + top.site?.line : "-"} exp ${expected.siteLines} | ${r.reason.slice(0, 260)} || ${top ? JSON.stringify(top.retainers.map((x) => x.text)).slice(0, 200) : ""}`;
    out.push(line);
    console.log(line);
  }
  fs.writeFileSync("/tmp/scratch/corpus.txt", out.join("\n") + "\n");
}, 600_000);
