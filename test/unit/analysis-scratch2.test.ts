import { it } from "vitest";
import { analyze } from "../../src/analysis/analyze.js";
import { synthCapture, shape, at } from "../helpers/synthetic.js";

const MB = 1e6;
it("native", () => {
  const show = (name: string, spec: Parameters<typeof synthCapture>[0]) => {
    const r = analyze(synthCapture(spec));
    console.log(name, r.verdict, "|", r.reason, "|", r.leaks.map((l) => `${l.kind} ${l.site?.line} ${l.evidence}`).join(" ;; "));
  };
  show("native", {
    sites: [{ bytes: shape.flat(8 * MB) }],
    rss: (t) => 30 * MB + 1.5 * MB * t,
    active: [{ frames: [at(40, "decode")], hits: () => 5 }, { frames: [at(50, "idle")], hits: (t, i) => (i % 4 === 0 ? 2 : 0) }],
  });
  show("nativeNoisy", {
    sites: [{ bytes: shape.noisy(shape.flat(8 * MB), 2 * MB, 4) }],
    rss: (t, i, heap) => 30 * MB + 1.5 * MB * t + heap,
    active: [{ frames: [at(40, "decode")], hits: () => 5 }],
  });
  show("tracks", { sites: [{ bytes: shape.linear(1 * MB, 1 * MB) }], rss: (t, i, heap, ovh) => 20 * MB + 1.3 * (heap + ovh) });
  show("fragment", {
    sites: [{ bytes: (t) => (t > 3 && t < 4.5 ? 60 * MB : 1 * MB) }],
    rss: (t) => (t > 3 ? 90 * MB : 30 * MB),
  });
  show("fragmentLate", {
    sites: [{ bytes: (t) => (t > 6 && t < 7.5 ? 60 * MB : 1 * MB) }],
    rss: (t) => (t > 6 ? 90 * MB : 30 * MB),
  });
  show("short", { seconds: 2, sites: [{ bytes: shape.linear(1 * MB, 1 * MB) }] });
  show("none", []);
  show("multi", [{ pid: 10, sites: [{ bytes: shape.flat(3 * MB) }] }, { pid: 11, ppid: 10, sites: [{ bytes: shape.linear(0, 1 * MB) }] }]);
});
