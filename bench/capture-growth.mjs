#!/usr/bin/env node
// Capture growth and host CPU on a long-running service: runs a steady service
// (allocation churn over ~300 live sites, a bounded cache, one slow leak) under
// leakhound for --seconds (default 120) and for half as long; the difference of
// the two capture sizes is the growth per second of run (the fixed part —
// schema pages, stack definitions — cancels out), extrapolated to an hour.
// The host's CPU is read from /proc while the target runs.
//
// usage: node bench/capture-growth.mjs [--seconds 120] [--python python3] [--collector auto]
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const seconds = Number(args.seconds ?? 120);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-growth-"));
const script = path.join(dir, "service.py");
const sites = Array.from({ length: 300 }, (_, i) => `def h${i}(n):\n    return [("v%d" % k) * ${(i % 7) + 1} for k in range(${20 + (i % 40)})]\n`).join("");
fs.writeFileSync(
  script,
  `import os, random, time, functools\n${sites}\nHANDLERS = [globals()["h%d" % i] for i in range(300)]\nLEAK = []\nKEEP = {}\n` +
    `@functools.lru_cache(maxsize=500)\ndef cached(k):\n    return bytes(2048)\n` +
    `end = time.monotonic() + float(os.environ["RUN_SECONDS"])\nn = 0\nwhile time.monotonic() < end:\n` +
    `    KEEP[n % 300] = HANDLERS[n % 300](n)\n    cached(random.randrange(2000))\n    n += 1\n` +
    `    if n % 100 == 0:\n        LEAK.append("r%d" % n * 20)\n        time.sleep(0.01)\n`,
);
const TICK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
function runFor(secs) {
  return new Promise((resolve) => {
    const capture = path.join(dir, `c-${secs}.lhdb`);
    const started = Date.now();
    const child = spawn(process.execPath, [path.join(root, "dist/cli.js"), "run", "--quiet", "--collector", args.collector ?? "auto", "--json", path.join(dir, "r.json"), "--out", capture, "--", args.python ?? "python3", script], {
      env: { ...process.env, RUN_SECONDS: String(secs) },
      stdio: "ignore",
    });
    let ticks = 0;
    let targetEndTicks = null;
    const poll = setInterval(() => {
      try {
        const f = fs.readFileSync(`/proc/${child.pid}/stat`, "utf8");
        const parts = f.slice(f.lastIndexOf(")") + 2).split(" ");
        ticks = Number(parts[11]) + Number(parts[12]);
        if (targetEndTicks === null && (Date.now() - started) / 1000 >= secs) targetEndTicks = ticks;
      } catch {
        /* gone */
      }
    }, 200);
    child.on("close", () => {
      clearInterval(poll);
      const report = JSON.parse(fs.readFileSync(path.join(dir, "r.json"), "utf8"));
      resolve({ size: fs.statSync(capture).size, cpu: (targetEndTicks ?? ticks) / TICK / secs, report });
    });
  });
}

const half = await runFor(seconds / 2);
const full = await runFor(seconds);
const perSec = (full.size - half.size) / (seconds / 2);
console.log(`capture after ${seconds / 2} s: ${(half.size / 1024).toFixed(0)} KB; after ${seconds} s: ${(full.size / 1024).toFixed(0)} KB`);
console.log(`capture growth: ${((perSec * 3600) / 1048576).toFixed(2)} MB per hour of run (target ≤ 5 MB)`);
console.log(`host CPU while the target ran: ${(full.cpu * 100).toFixed(2)}% of one core over ${seconds} s (target ≤ 2%), incl. start-up`);
console.log(`verdict ${full.report.verdict}: ${full.report.reason}`);
