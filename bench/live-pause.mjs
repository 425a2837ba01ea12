// The longest pause a thread of the target sees while leakhound explains a leak
// live (issue 11's goal: ≤ 50 ms on a heap of two million objects). Runs
// bench/live_pause_target.py under `leakhound run` (live explanations on, the
// default) and bare (no leakhound), and prints the longest gaps of the target's
// 1 ms ticker thread in both, and the live searches the capture recorded.
//
//   npm run build && node bench/live-pause.mjs [--python python3] [--objects 2000000] [--duration 40]
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const python = arg("--python", "python3");
const objects = arg("--objects", "2000000");
const duration = Number(arg("--duration", "40"));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-pause-"));
const target = path.join(here, "live_pause_target.py");

function top(gaps, k = 5) {
  return [...gaps].sort((a, b) => b[1] - a[1]).slice(0, k).map(([t, ms]) => `${ms} ms at ${t} s`).join(", ");
}

// Bare: the same program, stopped with SIGINT after the same time.
const bareOut = path.join(dir, "bare.json");
spawnSync("timeout", ["-s", "INT", String(duration), python, target], { env: { ...process.env, PAUSE_OBJECTS: objects, PAUSE_OUT: bareOut } });
const bare = JSON.parse(fs.readFileSync(bareOut, "utf8"));

const liveOut = path.join(dir, "live.json");
const capture = path.join(dir, "run.lhdb");
const json = path.join(dir, "report.json");
const run = spawnSync(
  process.execPath,
  [path.join(here, "..", "dist", "cli.js"), "run", "--quiet", "--duration", String(duration), "--out", capture, "--json", json, "--", python, target],
  { env: { ...process.env, PAUSE_OBJECTS: objects, PAUSE_OUT: liveOut }, encoding: "utf8" },
);
if (!fs.existsSync(liveOut)) throw new Error(`the target wrote no result: ${run.stderr}`);
const live = JSON.parse(fs.readFileSync(liveOut, "utf8"));
const { readCapture } = await import("../dist/capture/store.js");
const c = readCapture(capture);
const searches = c.processes.flatMap((p) => p.explanations.map((e) => `${e.reason} at ${e.t?.toFixed(1)} s: ${e.elapsedSec.toFixed(2)} s, ${e.visited} objects${e.truncated ? " (truncated)" : ""}`));

console.log(`heap: ${objects} objects; ${duration} s; ${python}`);
console.log(`bare:      longest ticker gaps ${top(bare.gaps)}`);
console.log(`leakhound: longest ticker gaps ${top(live.gaps)}`);
console.log(`searches:  ${searches.join("; ") || "none"}`);
