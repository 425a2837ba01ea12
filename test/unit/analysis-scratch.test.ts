import { it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import { synthCapture, shape, rng, gauss } from "../helpers/synthetic.js";

const MB = 1e6;
function tally(name: string, specs: Parameters<typeof synthCapture>[0][]) {
  const counts: Record<string, number> = {};
  const examples: Record<string, string> = {};
  for (const spec of specs) {
    const r = analyze(synthCapture(spec));
    counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
    examples[r.verdict] ??= r.reason.slice(0, 200);
  }
  console.log(name.padEnd(14), JSON.stringify(counts), "\n   ", JSON.stringify(examples));
}
it("stress", () => {
  const saw = [];
  for (let p = 0.7; p <= 5; p += 0.3) for (let ph = 0; ph < p; ph += p / 5) saw.push({ sites: [{ bytes: shape.sawtooth(0, 6 * MB, p, ph) }] });
  tally("sawtooth", saw);
  const sawN = [];
  for (let p = 0.7; p <= 5; p += 0.3) for (let ph = 0; ph < p; ph += p / 5) sawN.push({ sites: [{ bytes: shape.noisy(shape.sawtooth(1 * MB, 6 * MB, p, ph), 0.2 * MB, Math.round(p * 100 + ph * 10)) }] });
  tally("sawtoothNoisy", sawN);
  const churn = [];
  for (let s = 1; s <= 300; s++) churn.push({ sites: [{ bytes: shape.uniform(0, 10 * MB, s) }, { bytes: shape.noisy(shape.flat(10 * MB), 3 * MB, s + 1000) }] });
  tally("churn", churn);
  const samp = [];
  for (let s = 1; s <= 200; s++) samp.push({ collector: "sampling" as const, sites: [0.1, 0.5, 2, 8, 30].map((lvl, k) => ({ bytes: shape.sampled(shape.flat(lvl * MB), 512 * 1024, s * 10 + k) })) });
  tally("sampling", samp);
  const leakN: Record<string, unknown>[] = [];
  for (const sigma of [0.2, 0.5, 1, 2]) {
    const l = [];
    for (let s = 1; s <= 50; s++) l.push({ sites: [{ bytes: shape.noisy(shape.linear(5 * MB, 1 * MB), sigma * MB, s) }] });
    tally(`leak σ=${sigma}`, l);
  }
  const steps = [];
  for (const every of [1.5, 2, 3, 4]) for (let off = 0.1; off < every; off += every / 4) steps.push({ sites: [{ bytes: shape.steps(1 * MB, 2 * MB, every, off) }] });
  tally("steps", steps);
  const warm = [];
  for (let until = 1; until <= 8; until += 0.5) warm.push({ sites: [{ bytes: shape.fillThenFlat(0, 20 * MB / until, until) }] });
  tally("warmup", warm);
  const slow = [];
  for (let s = 1; s <= 50; s++) slow.push({ sites: [{ bytes: shape.linear(0, 50e3) }, { bytes: shape.noisy(shape.flat(10 * MB), 5 * MB, s) }], other: shape.noisy(shape.flat(5 * MB), 2 * MB, s + 7) });
  tally("slow+churn", slow);
  const sampLeak = [];
  for (let s = 1; s <= 50; s++) sampLeak.push({ collector: "sampling" as const, sites: [{ bytes: shape.sampled(shape.linear(2 * MB, 1 * MB), 512 * 1024, s) }] });
  tally("sampledLeak", sampLeak);
  const lru = [];
  for (let s = 1; s <= 100; s++) lru.push({ collector: "sampling" as const, sites: [{ bytes: shape.sampled(shape.fillThenFlat(0, 16 * MB, 0.5), 512 * 1024, s) }, { bytes: shape.sampled(shape.uniform(0, 8 * MB, s + 5), 512 * 1024, s + 9) }] });
  tally("sampledLRU", lru);
});
