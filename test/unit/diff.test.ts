// leakhound diff on synthetic captures: sites matched across a line shift by their code,
// "fixed" only with the power to have seen the before-rate, never for a capture against itself.
import { describe, expect, it } from "vitest";
import type { Capture } from "../../src/capture/model.js";
import { diffCaptures } from "../../src/diff/compare.js";
import { sameSite } from "../../src/diff/identity.js";
import { at, shape, synthCapture, USER_FILE } from "../helpers/synthetic.js";
import { diffErrors } from "../helpers/schema.js";

const LEAK_LINE = 'body = ("response %d\\n" % n) * 200';

/** A capture whose handle() allocates at `line` (the source kept there), growing at `perSec`. */
function capture(line: number, perSec: number, seconds = 12): Capture {
  const c = synthCapture({ seconds, sites: [{ frames: [at(line, "handle"), at(40, "main")], bytes: shape.linear(1e6, perSec) }] });
  const lines = Array.from({ length: 60 }, (_, i) => (i + 1 === line ? `    ${LEAK_LINE}` : `    x${i + 1} = ${i + 1}`));
  c.sources.set(USER_FILE, { file: USER_FILE, start: 1, lines });
  return c;
}

const diff = (a: Capture, b: Capture) => {
  const d = diffCaptures({ capture: a, path: "/tmp/before.lhdb" }, { capture: b, path: "/tmp/after.lhdb" }, "test");
  expect(diffErrors(d)).toBeNull();
  return d;
};

describe("leakhound diff", () => {
  it("a fixed leak whose line moved is found by its code and called fixed", () => {
    const d = diff(capture(9, 1e6), capture(14, 0));
    expect(d.counts).toEqual({ fixed: 1, "still-leaking": 0, new: 0, inconclusive: 0 });
    const e = d.entries[0];
    expect(e.code).toBe(LEAK_LINE);
    expect(e.before?.site?.line).toBe(9);
    expect(e.after?.site?.line).toBe(14);
    expect(e.reason).toMatch(/would have grown/);
  });

  it("a capture compared with itself never says fixed", () => {
    for (const c of [capture(9, 1e6), capture(9, 0), capture(9, 1e6, 2)]) {
      const d = diff(c, c);
      expect(d.counts.fixed).toBe(0);
      expect(d.counts.new).toBe(0);
    }
    expect(diff(capture(9, 1e6), capture(9, 1e6)).counts["still-leaking"]).toBe(1);
  });

  it("an after-run too short to judge is inconclusive", () => {
    const d = diff(capture(9, 1e6), capture(14, 0, 2));
    expect(d.entries.map((e) => e.status)).toEqual(["inconclusive"]);
    expect(d.entries[0].reason).toMatch(/too short/);
  });

  it("an after-run in which the before-rate would not have shown is inconclusive", () => {
    // 30 KB/s before: 12 s of it is a leak (≥ 128 KiB); 4 s of after-window is not enough to tell.
    const before = capture(9, 30e3, 60);
    const d = diff(before, capture(14, 0, 4));
    expect(d.entries.map((e) => e.status)).toEqual(["inconclusive"]);
    expect(d.entries[0].reason).toMatch(/too little to tell|too few/);
  });

  it("a leak at a line the before-run only allocated at is new", () => {
    const d = diff(capture(14, 0), capture(9, 1e6));
    expect(d.entries.map((e) => e.status)).toEqual(["new"]);
    expect(d.entries[0].after?.leak).toBe(true);
  });

  it("native growth named by a different running stack in each run is the same leak", () => {
    const native = (fn: string) =>
      synthCapture({
        sites: [{ frames: [at(9, "handle")], bytes: shape.flat(1e6) }],
        rss: (t, _i, heap, overhead) => 20e6 + 1.2 * heap + overhead + 3e6 * t,
        active: [{ frames: [at(50, fn)], hits: () => 5 }],
      });
    const before = native("load");
    expect(before.processes.length).toBe(1);
    const d = diff(before, native("parse"));
    expect(d.entries.map((e) => [e.status, e.kind])).toEqual([["still-leaking", "native"]]);
  });

  it("a pool's workers: the leak that moved to another worker is still leaking, not fixed and new", () => {
    const pool = (leaking: number) =>
      synthCapture([
        { pid: 10, sites: [{ frames: [at(30, "serve")], bytes: shape.flat(1e6) }] },
        ...[11, 12].map((pid) => ({
          pid,
          ppid: 10,
          argv: ["worker.py"],
          sites: [{ frames: [at(9, "handle")], bytes: pid === leaking ? shape.linear(1e6, 1e6) : shape.flat(1e6) }],
        })),
      ]);
    const d = diff(pool(11), pool(12));
    expect(d.entries.map((e) => e.status)).toEqual(["still-leaking"]);
    expect([d.entries[0].before?.pid, d.entries[0].after?.pid]).toEqual([11, 12]);
  });

  it("sites match by code, or by line where a capture kept no text", () => {
    const id = (line: number, code: string | null, fn = "handle") => ({ file: "app.py", function: fn, line, code });
    expect(sameSite(id(9, "a = b"), id(14, "a = b"))).toBe(true);
    expect(sameSite(id(9, "a = b"), id(9, "a = c"))).toBe(false);
    expect(sameSite(id(9, "a = b"), id(9, "a = b", "other"))).toBe(false);
    expect(sameSite(id(9, null), id(9, "a = b"))).toBe(true);
    expect(sameSite(id(9, null), id(14, "a = b"))).toBe(false);
  });
});
