// The host's in-memory model of a run (src/capture/recorder.ts): its memory on an
// hour-long run and on a 100,000-site run, and the time to analyse it. Messages
// are synthetic but shaped like the agent's: each sample reports the sites whose
// figures changed (a few growing, some churning, most still).
//
//   npm run build && node --expose-gc bench/recorder-model.mjs [--runs 3]
import { Recorder } from "../dist/capture/recorder.js";
import { analyze } from "../dist/analysis/analyze.js";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 1;

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function heapMiB() {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1048576;
}

/** samples × sites; `moving` sites change at every sample, the rest at `stillEvery` samples on average. */
function scenario(name, { samples, sites, moving, stillEvery }) {
  const r = rng(42);
  const before = heapMiB();
  const rec = new Recorder({ leakhoundVersion: "bench", createdAt: 0, argv: ["python3", "app.py"], cwd: "/", complete: false, exitCode: null, signal: null, notes: [] }, null);
  rec.hello({
    type: "hello", v: 1, pid: 1, ppid: 0, python: "3.11.7", implementation: "cpython", executable: "python3",
    argv: ["app.py"], cwd: "/", startedAt: 1, collector: { name: "sampling", intervalSec: 0.5, nframes: 16, sampleBytes: 32768 },
  });
  const defs = [];
  for (let id = 1; id <= sites; id++) defs.push({ id, frames: [{ file: `/srv/app/mod${id % 500}.py`, line: id % 997, function: `f${id % 300}` }] });
  for (let k = 0; k < defs.length; k += 1000) rec.stacks(1, defs.slice(k, k + 1000));
  const level = new Float64Array(sites + 1).map(() => 1000 + r() * 1e5);
  const t0 = performance.now();
  for (let seq = 0; seq < samples; seq++) {
    const changed = [];
    for (let id = 1; id <= sites; id++) {
      if (id <= moving) level[id] += 2000 + r() * 500; // leaking or churning sites
      else if (seq === 0 || r() < 1 / stillEvery) level[id] = Math.max(0, level[id] + (r() - 0.5) * 4096);
      else continue;
      changed.push([id, level[id], Math.round(level[id] / 64)]);
    }
    rec.sample(1, {
      type: "sample", seq, t: 0.5 * (seq + 1), rss: 5e7 + seq * 1e4, heap: 3e7 + seq * 8e3, overhead: 1e6, gcEnabled: true,
      sites: changed, otherBytes: 1e6, otherCount: 1000, active: [[1, 1]], cost: 0.001,
    });
  }
  const recordMs = performance.now() - t0;
  const model = heapMiB() - before;
  const t1 = performance.now();
  const report = analyze(rec.snapshot());
  const analyseMs = performance.now() - t1;
  console.log(
    `${name}: ${samples} samples x ${sites} sites (${moving} moving, the rest change every ~${stillEvery} samples): ` +
      `model ${model.toFixed(1)} MiB, recording ${(recordMs / samples).toFixed(2)} ms/sample, analysis ${analyseMs.toFixed(0)} ms ` +
      `(verdict ${report.verdict}, ${report.leaks.length} leaks)`,
  );
}

for (let i = 0; i < runs; i++) {
  if (!process.env.ONLY100K) scenario("hour", { samples: 7200, sites: 2000, moving: 20, stillEvery: 50 });
  scenario("100k sites", { samples: 240, sites: 100_000, moving: 20, stillEvery: 50 });
}
