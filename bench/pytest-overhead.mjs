// What the per-test measurement costs a pytest session: the same suite under `leakhound run`
// with the agent's pytest plugin and without it (`-p no:leakhound_agent.pytest_plugin`),
// alternating, and bare. Usage: node bench/pytest-overhead.mjs [runs=3] [python=python3]
// Prints pytest's own "in N s" time of each run (the session, not the interpreter start).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.argv[2] ?? 3);
const python = process.argv[3] ?? "python3";
const suite = fs.mkdtempSync(path.join(os.tmpdir(), "lh-pytest-bench-"));
fs.cpSync(path.join(root, "test", "fixtures", "pytest", "clean_suite"), suite, { recursive: true });
const pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"];
const cli = path.join(root, "dist", "cli.js");
const variants = {
  bare: pytest,
  "leakhound, no plugin": [process.execPath, cli, "run", "--quiet", "--", ...pytest, "-p", "no:leakhound_agent.pytest_plugin"],
  "leakhound, per-test": [process.execPath, cli, "run", "--quiet", "--", ...pytest],
};
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, cmd] of Object.entries(variants)) {
    const r = spawnSync(cmd[0], cmd.slice(1), { cwd: suite, encoding: "utf8" });
    const m = /in ([\d.]+)s/.exec(r.stdout);
    times[name].push(m ? Number(m[1]) : NaN);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(times["leakhound, no plugin"]);
for (const [name, xs] of Object.entries(times)) {
  console.log(`${name.padEnd(22)} ${xs.map((x) => x.toFixed(2)).join(" ")} s  median ${median(xs).toFixed(2)} s`);
}
const per = ((median(times["leakhound, per-test"]) - base) / 400) * 1000;
console.log(`per-test measurement: ${per.toFixed(2)} ms per test (400 tests; load ${os.loadavg()[0].toFixed(1)})`);
