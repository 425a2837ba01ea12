#!/usr/bin/env node
// leakhound's footprint on the shared workloads, measured side by side in one run:
//   - the target's peak RSS with leakhound vs bare (the agent's memory share),
//   - the host's CPU use while the target runs (% of one core),
//   - capture growth, extrapolated to bytes per hour of run.
// The peak RSS comes from the target itself (ru_maxrss printed at exit by a
// small runner that runs the workload file unchanged).
//
// usage: node bench/footprint.mjs [--python python3] [--collector auto] [--scale 1] [--only a,b] [--runs 3]
// Peak RSS varies by a few hundred KB from run to run (allocator timing): each workload runs
// --runs times bare and under leakhound, alternating, and the medians are compared.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const workloads = path.resolve(root, "..", "shared", "workloads");
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const python = args.python ?? "python3";
const collector = args.collector ?? "auto";
const only = args.only ? new Set(args.only.split(",")) : null;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-footprint-"));
const runner = path.join(dir, "runner.py");
fs.writeFileSync(
  runner,
  "import resource, runpy, sys\nsys.argv = sys.argv[1:]\nsys.path.insert(0, __import__('os').path.dirname(sys.argv[0]))\n" +
    "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\nfinally:\n" +
    "    print('maxrss_kb=%d' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n",
);
const TICK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

function cpuTicks(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const parts = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return Number(parts[11]) + Number(parts[12]); // utime + stime
  } catch {
    return null;
  }
}

function bare(file) {
  const r = spawnSync(python, [runner, file], { cwd: workloads, encoding: "utf8", env: { ...process.env, WORK_SCALE: args.scale ?? "1" } });
  return Number(/maxrss_kb=(\d+)/.exec(r.stdout)?.[1] ?? NaN) * 1024;
}

function profiled(file) {
  return new Promise((resolve) => {
    const capture = path.join(dir, "c.lhdb");
    const started = Date.now();
    const child = spawn(process.execPath, [path.join(root, "dist/cli.js"), "run", "--quiet", "--collector", collector, "--out", capture, "--", python, runner, file], {
      cwd: workloads,
      env: { ...process.env, WORK_SCALE: args.scale ?? "1" },
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    let ticks = 0;
    child.stdout.on("data", (d) => (out += d));
    const poll = setInterval(() => {
      const t = cpuTicks(child.pid);
      if (t !== null) ticks = t;
    }, 100);
    child.on("close", () => {
      clearInterval(poll);
      const wall = (Date.now() - started) / 1000;
      resolve({
        maxrss: Number(/maxrss_kb=(\d+)/.exec(out)?.[1] ?? NaN) * 1024,
        hostCpu: ticks / TICK / wall,
        captureBytes: fs.statSync(capture).size,
        wall,
      });
    });
  });
}

const runs = Math.max(1, Number(args.runs ?? 3));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows = [];
for (const file of fs.readdirSync(workloads).filter((f) => /^[a-z].*\.py$/.test(f)).sort()) {
  const name = file.replace(/\.py$/, "");
  if (only && !only.has(name)) continue;
  const plains = [];
  const profiles = [];
  for (let i = 0; i < runs; i++) {
    plains.push(bare(file));
    profiles.push(await profiled(file));
  }
  const plain = median(plains);
  const p = { ...profiles[0], maxrss: median(profiles.map((x) => x.maxrss)), hostCpu: median(profiles.map((x) => x.hostCpu)) };
  const row = { name, plainRss: plain, profiledRss: p.maxrss, rssRatio: p.maxrss / plain, hostCpuPct: p.hostCpu * 100, captureBytes: p.captureBytes, wall: p.wall };
  rows.push(row);
  console.log(
    `${name.padEnd(16)} peak RSS bare ${(plain / 1048576).toFixed(1)} MB, with leakhound ${(p.maxrss / 1048576).toFixed(1)} MB (${row.rssRatio.toFixed(3)}x)  ` +
      `host CPU ${row.hostCpuPct.toFixed(1)}% of a core (incl. start-up and analysis)  capture ${(p.captureBytes / 1024).toFixed(0)} KB in ${p.wall.toFixed(1)} s`,
  );
}
const worst = Math.max(...rows.map((r) => r.rssRatio));
console.log(`worst peak-RSS ratio ${worst.toFixed(3)}x (target ≤ 1.10x); collector ${collector}; medians of ${runs} runs`);
if (args.json) fs.writeFileSync(args.json, JSON.stringify(rows, null, 2));
