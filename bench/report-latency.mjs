#!/usr/bin/env node
// How long after a 12 s target finishes is the report ready?
// The target writes the wall time at the end of its main(); the bench notes when
// `leakhound run` exits (the terminal, JSON and capture are written by then).
//
// usage: node bench/report-latency.mjs [--python python3] [--seconds 12] [--collector auto]
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
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-bench-"));
const marker = path.join(dir, "ended");
const script = path.join(dir, "leaky_service.py");
fs.writeFileSync(
  script,
  `import os, time
HISTORY = []
CHURN = []
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
const rows = [];
for (let run = 0; run < 3; run++) {
  const started = Date.now();
  const res = spawnSync(process.execPath, [path.join(root, "dist/cli.js"), "run", "--quiet", "--collector", collector, "--json", path.join(dir, "r.json"), "--out", path.join(dir, "c.lhdb"), "--", python, script], {
    env: { ...process.env, LEAK_SECONDS: seconds },
    encoding: "utf8",
  });
  const ended = Date.now();
  const targetEnd = Number(fs.readFileSync(marker, "utf8")) * 1000;
  const report = JSON.parse(fs.readFileSync(path.join(dir, "r.json"), "utf8"));
  rows.push({ total: (ended - started) / 1000, afterExit: (ended - targetEnd) / 1000, verdict: report.verdict, status: res.status });
  console.log(`run ${run + 1}: whole ${rows.at(-1).total.toFixed(2)} s, report ready ${rows.at(-1).afterExit.toFixed(2)} s after the target's main() returned (verdict ${report.verdict})`);
}
const worst = Math.max(...rows.map((r) => r.afterExit));
console.log(`report latency after exit: worst ${worst.toFixed(2)} s of 3 runs (target ≤ 3 s), collector ${collector}`);
if (args.json) fs.writeFileSync(args.json, JSON.stringify(rows, null, 2));
