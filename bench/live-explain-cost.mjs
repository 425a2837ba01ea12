// What live explanations cost a leaking program: the same fixed work bare, under
// `leakhound run --no-live-explain`, and under `leakhound run` (live explanations
// on, the default), alternating so drift cancels; the slowdown is the median of
// the per-round ratios of the program's own elapsed time.
//
//   npm run build && node bench/live-explain-cost.mjs [--runs 3] [--python python3]
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const runs = Number(arg("--runs", "3"));
const python = arg("--python", "python3");
const target = path.join(here, "live_explain_target.py");
const cli = path.join(here, "..", "dist", "cli.js");

function elapsed(cmd) {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
  const m = /elapsed=([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`no elapsed= from ${cmd.join(" ")}: ${r.stderr}`);
  return Number(m[1]);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows = { bare: [], off: [], on: [] };
for (let i = 0; i < runs; i++) {
  rows.bare.push(elapsed([python, target]));
  rows.off.push(elapsed([process.execPath, cli, "run", "--quiet", "--no-live-explain", "--", python, target]));
  rows.bare.push(elapsed([python, target]));
  rows.on.push(elapsed([process.execPath, cli, "run", "--quiet", "--", python, target]));
}
const ratio = (xs) => median(xs.map((x, i) => x / ((rows.bare[2 * i] + rows.bare[2 * i + 1]) / 2)));
console.log(`bare: ${median(rows.bare).toFixed(2)} s; leakhound, no live explanations: ${ratio(rows.off).toFixed(3)}x; with live explanations (default): ${ratio(rows.on).toFixed(3)}x (median of ${runs} rounds)`);
