import { it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import { synthCapture, shape } from "../helpers/synthetic.js";
const MB = 1e6;
it("x", () => {
  for (const sigma of [0.1, 0.3, 1, 2]) for (const until of [2, 3, 5]) {
    const c: Record<string, number> = {};
    let ex = "";
    for (let s = 1; s <= 200; s++) {
      const r = analyze(synthCapture({ sites: [{ bytes: shape.noisy(shape.fillThenFlat(0, 18 * MB / until, until), sigma * MB, s) }] }));
      c[r.verdict] = (c[r.verdict] ?? 0) + 1;
      if (r.verdict !== "no-leak" && !ex) ex = r.reason.slice(0, 200);
    }
    console.log("RES", sigma, until, JSON.stringify(c), ex);
  }
});
