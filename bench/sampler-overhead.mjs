#!/usr/bin/env node
// Slowdown of the native sampling collector (and of tracemalloc, for comparison) on
// ../shared/workloads, by CPU time as well as by the workloads' own elapsed= time.
//
// overhead.mjs (in shared/workloads) times wall clock; on a shared 2-core machine that other jobs
// load, wall-clock ratios swing by ±30%. CPU time (user + sys of the whole process, start-up and
// the collector's own thread included) is far steadier under contention, so this reports both.
// Runs alternate plain / sampler / tracemalloc per round; per-workload figures are medians of the
// per-round ratios; the summary is their geometric mean.
//
// usage: node bench/sampler-overhead.mjs [--python python3] [--runs 5] [--only a,b]
//        [--sample-bytes 524288] [--tracemalloc 1] [--scale 1] [--json out.json]
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const workloads = path.resolve(here, "../../shared/workloads");
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const python = args.python ?? "python3";
const runs = Number(args.runs ?? 5);
const only = args.only ? new Set(args.only.split(",")) : null;
const withTracemalloc = args.tracemalloc !== "0";
const sampleBytes = args["sample-bytes"] ?? "524288";

function timed(cmd, env) {
  const proc = spawnSync("/usr/bin/time", ["-f", "cpu %U %S", ...cmd], {
    cwd: workloads,
    env: { ...process.env, WORK_SCALE: args.scale ?? "1", ...env },
    encoding: "utf8",
    timeout: 900_000,
  });
  const inner = /elapsed=([0-9.]+)/.exec(proc.stdout ?? "");
  const cpu = /cpu ([0-9.]+) ([0-9.]+)\s*$/.exec(proc.stderr ?? "");
  if (!inner || !cpu) {
    console.error(`failed: ${cmd.join(" ")}\n${(proc.stderr ?? "").slice(-600)}`);
    process.exit(1);
  }
  return { inner: Number(inner[1]), cpu: Number(cpu[1]) + Number(cpu[2]) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const geo = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

const sampler = [path.join(here, "with-sampler.sh"), "--", python];
const rows = [];
for (const file of fs.readdirSync(workloads).filter((f) => /^[a-z].*\.py$/.test(f)).sort()) {
  const name = file.replace(/\.py$/, "");
  if (only && !only.has(name)) continue;
  const r = { name, plain: [], sampler: [], tracemalloc: [] };
  for (let i = 0; i < runs; i++) {
    r.plain.push(timed([python, file], {}));
    r.sampler.push(timed([...sampler, file], { LEAKHOUND_SAMPLE_BYTES: sampleBytes }));
    if (withTracemalloc) r.tracemalloc.push(timed([python, "-X", "tracemalloc=1", file], {}));
  }
  const ratio = (xs, key) => median(xs.map((x, i) => x[key] / r.plain[i][key]));
  const row = {
    name,
    plainCpu: median(r.plain.map((x) => x.cpu)),
    samplerCpu: ratio(r.sampler, "cpu"),
    samplerElapsed: ratio(r.sampler, "inner"),
    tracemallocCpu: withTracemalloc ? ratio(r.tracemalloc, "cpu") : null,
    tracemallocElapsed: withTracemalloc ? ratio(r.tracemalloc, "inner") : null,
  };
  rows.push(row);
  console.log(
    `${name.padEnd(16)} plain ${row.plainCpu.toFixed(2)}s cpu  sampler ${row.samplerCpu.toFixed(3)}x cpu ` +
      `${row.samplerElapsed.toFixed(3)}x elapsed` +
      (withTracemalloc
        ? `  tracemalloc ${row.tracemallocCpu.toFixed(2)}x cpu ${row.tracemallocElapsed.toFixed(2)}x elapsed`
        : ""),
  );
}
const summary = {
  python,
  sampleBytes: Number(sampleBytes),
  runs,
  samplerCpu: geo(rows.map((r) => r.samplerCpu)),
  samplerElapsed: geo(rows.map((r) => r.samplerElapsed)),
  tracemallocCpu: withTracemalloc ? geo(rows.map((r) => r.tracemallocCpu)) : null,
  tracemallocElapsed: withTracemalloc ? geo(rows.map((r) => r.tracemallocElapsed)) : null,
  rows,
};
console.log(
  `geometric mean: sampler ${summary.samplerCpu.toFixed(3)}x cpu, ${summary.samplerElapsed.toFixed(3)}x elapsed` +
    (withTracemalloc
      ? `; tracemalloc ${summary.tracemallocCpu.toFixed(2)}x cpu, ${summary.tracemallocElapsed.toFixed(2)}x elapsed`
      : ""),
);
if (args.json) fs.writeFileSync(args.json, JSON.stringify(summary, null, 2));
