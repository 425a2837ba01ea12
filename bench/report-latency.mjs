#!/usr/bin/env node
// How long after a 12 s target finishes is the report ready?
// The target writes the wall time at the end of its main(); the bench notes when
// `leakhound run` exits (the terminal, JSON and capture are written by then).
//
// With --objects N the service first builds an in-memory index of about N objects (a dict of
// str keys to [int, float] lists: four objects per entry), the heap the exit search must walk.
//
// usage: node bench/report-latency.mjs [--python python3] [--seconds 12] [--collector auto] [--objects 12000000] [--runs 3]
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const python = args.python ?? "python3";
const seconds = args.seconds ?? "12";
const collector = args.collector ?? "auto";
const objects = Number(args.objects ?? 0);
const runs = Number(args.runs ?? 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-bench-"));
const marker = path.join(dir, "ended");
const script = path.join(dir, "leaky_service.py");
fs.writeFileSync(
  script,
  `import os, time
HISTORY = []
CHURN = []
INDEX = {str(i): [i + 1000, float(i)] for i in range(int(os.environ.get("INDEX_OBJECTS", "0")) // 4)}
def handle(i):
    body = os.urandom(1024).hex()
    HISTORY.append({"id": i, "body": body})
    CHURN[:] = [str(k) * 8 for k in range(200)]
def main():
    end = time.monotonic() + float(os.environ["LEAK_SECONDS"])
    i = 0
    while time.monotonic() < end:
        handle(i); i += 1
        time.sleep(0.001)
    with open(${JSON.stringify(marker)}, "w") as f:
        f.write(repr(time.time()))
main()
`,
);
// The bare interpreter's own exit (freeing the heap) after main() returned, for comparison: the
// report's latency after the target's process ended is the difference.
let bareExit = null;
{
  const res = spawnSync(python, [script], { env: { ...process.env, LEAK_SECONDS: "2", INDEX_OBJECTS: String(objects) }, encoding: "utf8" });
  const ended = Date.now();
  if (res.status === 0) bareExit = (ended - Number(fs.readFileSync(marker, "utf8")) * 1000) / 1000;
  console.log(`bare ${python}: exits ${bareExit?.toFixed(2) ?? "?"} s after its main() returned`);
}
const rows = [];
for (let run = 0; run < runs; run++) {
  const started = Date.now();
  const res = spawnSync(process.execPath, [path.join(root, "dist/cli.js"), "run", "--quiet", "--collector", collector, "--json", path.join(dir, "r.json"), "--out", path.join(dir, "c.lhdb"), "--", python, script], {
    env: { ...process.env, LEAK_SECONDS: seconds, INDEX_OBJECTS: String(objects) },
    encoding: "utf8",
  });
  const ended = Date.now();
  const targetEnd = Number(fs.readFileSync(marker, "utf8")) * 1000;
  const report = JSON.parse(fs.readFileSync(path.join(dir, "r.json"), "utf8"));
  rows.push({ total: (ended - started) / 1000, afterExit: (ended - targetEnd) / 1000, verdict: report.verdict, status: res.status });
  console.log(`run ${run + 1}: whole ${rows.at(-1).total.toFixed(2)} s, report ready ${rows.at(-1).afterExit.toFixed(2)} s after the target's main() returned (verdict ${report.verdict})`);
}
const worst = Math.max(...rows.map((r) => r.afterExit));
console.log(`report latency after exit: worst ${worst.toFixed(2)} s of ${runs} runs after main() returned` +
  (bareExit === null ? "" : `, ${(worst - bareExit).toFixed(2)} s after the bare interpreter would have exited`) +
  ` (target ≤ 3 s), collector ${collector}, index of ${objects} objects`);
if (args.json) fs.writeFileSync(args.json, JSON.stringify(rows, null, 2));
