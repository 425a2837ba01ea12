import { it } from "vitest";
import { describe as describeSeries } from "../../src/analysis/features.js";
import { judgeSeries } from "../../src/analysis/judge.js";
import { stopped } from "../../src/analysis/rules/plateau.js";
import { knownPoints } from "../../src/analysis/series.js";
import { synthProcess, shape } from "../helpers/synthetic.js";
const MB = 1e6, KB = 1e3;
it("x", () => {
  const p = synthProcess({ sites: [{ bytes: shape.sum(shape.sawtooth(0, 6 * MB, 2, 0.3), shape.linear(0, 400 * KB)) }] });
  const site = [...p.sites.values()][0];
  const f = describeSeries(knownPoints(p.samples.map((x) => x.t), site.bytes), { warmupSec: 1.2, sampleBytes: 0 });
  console.log("DBG", JSON.stringify({ j: judgeSeries(f), stop: stopped(f), hinge: f.hinge, hts: f.hingeTailSlope, c: f.cycles && { t: [...f.cycles.troughT], x: [...f.cycles.troughX] }, tol: f.tolerance, rise: f.riseStep }));
});
