// The time from `leakhound attach PID` to the first sample, per CPython found (BENCHMARKS.md).
//   node bench/attach-latency.mjs [runs per Python, default 5]
// Each run starts test/fixtures/programs/attach_target.py without leakhound, attaches with
// LEAKHOUND_DEBUG=1 (which prints the steps' times), and detaches after 2 s; the target
// prints the longest time between two turns of its 2 ms loop (how long the attach stopped it).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.argv[2] ?? 5);
const pyenv = (() => {
  try {
    return execFileSync("pyenv", ["root"], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
})();
const pythons = pyenv
  ? fs.readdirSync(path.join(pyenv, "versions")).filter((v) => /^3\.(8|9|1[0-3])\./.test(v))
      .sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]))
      .map((v) => [v, path.join(pyenv, "versions", v, "bin", "python3")])
  : [["python3", "python3"]];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const [version, python] of pythons) {
  const firsts = [];
  const hellos = [];
  const gaps = [];
  for (let i = 0; i < runs; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh-bench-attach-"));
    const stop = path.join(dir, "stop");
    const target = spawn(python, [path.join(root, "test/fixtures/programs/attach_target.py"), stop], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ATTACH_REPORT_GAP: "1" },
    });
    let output = "";
    target.stdout.on("data", (d) => (output += d));
    while (!output.includes("service started")) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 1000));
    const out = spawnSync(process.execPath, [path.join(root, "dist/cli.js"), "attach", String(target.pid), "--duration", "2", "--quiet", "--out", path.join(dir, "c.lhdb")], {
      env: { ...process.env, LEAKHOUND_DEBUG: "1" },
      encoding: "utf8",
      stdio: ["ignore", "ignore", "pipe"],
    }).stderr;
    fs.writeFileSync(stop, "");
    await new Promise((r) => target.on("close", r));
    const gap = /longest gap ([\d.]+) s/.exec(output);
    if (gap) gaps.push(Number(gap[1]));
    fs.rmSync(dir, { recursive: true, force: true });
    const m = /hello ([\d.]+), first sample ([\d.]+)/.exec(out);
    if (m) {
      hellos.push(Number(m[1]));
      firsts.push(Number(m[2]));
    }
  }
  console.log(`${version}: first sample median ${median(firsts)?.toFixed(2)} s (min ${Math.min(...firsts).toFixed(2)}, max ${Math.max(...firsts).toFixed(2)}), hello median ${median(hellos)?.toFixed(2)} s, target stopped up to ${median(gaps)?.toFixed(3)} s (median of its longest gap; max ${Math.max(...gaps).toFixed(3)} s), ${firsts.length}/${runs} runs`);
}
