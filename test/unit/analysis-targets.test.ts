// retainerTargets(): which stacks the agent is asked to explain at exit.
import { describe, expect, it } from "vitest";
import { retainerTargets } from "../../src/analysis/targets.js";
import { at, lib, shape, synthProcess } from "../helpers/synthetic.js";

const MB = 1e6;

describe("retainerTargets", () => {
  it("names the leaking stacks, most growth first, one per site before second stacks", () => {
    const proc = synthProcess({
      sites: [
        { frames: [at(50)], bytes: shape.flat(30 * MB), stackId: 1 },
        { frames: [lib("logging/__init__.py", 1104), at(13)], bytes: shape.linear(0, 800e3), stackId: 2 },
        { frames: [at(20)], bytes: shape.linear(0, 2 * MB), stackId: 3 },
        { frames: [lib("logging/__init__.py", 230), at(13)], bytes: shape.linear(0, 300e3), stackId: 4 },
        { frames: [at(30)], bytes: shape.sawtooth(0, 6 * MB, 2), stackId: 5 },
        { frames: [at(40)], bytes: shape.linear(0, 500e3), stackId: 6 },
      ],
    });
    expect(retainerTargets(proc)).toEqual([3, 2, 6, 4]);
    expect(retainerTargets(proc, 2)).toEqual([3, 2]);
    expect(retainerTargets(proc, 0)).toEqual([]);
  });

  it("falls back to stacks that grew when nothing is judged a leak yet", () => {
    const proc = synthProcess({
      seconds: 12,
      sites: [
        { frames: [at(10)], bytes: (t) => (t > 10 ? 2 * MB + (t - 10) * 3 * MB : 2 * MB), stackId: 1 },
        { frames: [at(11)], bytes: shape.flat(5 * MB), stackId: 2 },
      ],
    });
    expect(retainerTargets(proc)).toEqual([1]);
  });

  it("is empty for a process without samples", () => {
    expect(retainerTargets(synthProcess({ seconds: 0 }))).toEqual([]);
  });
});
