// The view model both data sources deliver: packing is lossless for everything
// but chart series, which keep real samples and every bucket's min and max.
import { describe, expect, test } from "vitest";
import { minMaxIndices } from "../../src/report/html/downsample.js";
import { encodeData } from "../../src/report/html/render.js";
import { packReport } from "../../src/report/html/view-model.js";
import { readInlineData, unpack } from "../../web/model.js";
import { bigReport, leakReport, maliciousReport } from "../fixtures/reports/generate.js";

describe("downsampling", () => {
  test("keeps everything when short", () => {
    expect(minMaxIndices(5, [[1, 2, 3, 4, 5]], 10)).toEqual([0, 1, 2, 3, 4]);
  });

  test("keeps first, last, and every spike, within the budget", () => {
    const n = 7200;
    const a = Array.from({ length: n }, (_, i) => Math.sin(i / 100));
    const b = Array.from({ length: n }, (_, i) => i);
    a[1234] = 50; // a spike
    b[4321] = -50; // a dip
    const keep = minMaxIndices(n, [a, b], 2000);
    expect(keep.length).toBeLessThanOrEqual(2000);
    expect(keep[0]).toBe(0);
    expect(keep[keep.length - 1]).toBe(n - 1);
    expect(keep).toContain(1234);
    expect(keep).toContain(4321);
    expect([...keep].sort((x, y) => x - y)).toEqual(keep);
    expect(Math.max(...keep.map((i) => a[i]))).toBe(Math.max(...a));
    expect(Math.min(...keep.map((i) => b[i]))).toBe(Math.min(...b));
  });

  test("skips NaN", () => {
    const v = Array.from({ length: 100 }, (_, i) => (i % 2 ? NaN : i));
    const keep = minMaxIndices(100, [v], 10);
    expect(keep.every((i) => i === 99 || !Number.isNaN(v[i]))).toBe(true);
  });
});

describe("pack and unpack", () => {
  for (const [name, make] of [
    ["leak", leakReport],
    ["malicious", maliciousReport],
  ] as const) {
    test(`${name}: sites, leaks and stacks survive the round trip`, () => {
      const report = make();
      const model = unpack(JSON.parse(JSON.stringify(packReport(report))));
      expect(model.head.reason).toBe(report.reason);
      expect(model.head.sources).toEqual(report.sources);
      expect(model.sites.map((s) => ({ pid: s.pid, stackId: s.stackId, site: s.site, stack: s.stack, liveBytes: s.liveBytes }))).toEqual(
        report.sites.map((s) => ({ pid: s.pid, stackId: s.stackId, site: s.site, stack: s.stack, liveBytes: s.liveBytes })),
      );
      model.leaks.forEach((l, i) => {
        expect(l.site).toEqual(report.leaks[i].site);
        expect(l.stack).toEqual(report.leaks[i].stack);
        expect(l.retainers).toEqual(report.leaks[i].retainers);
        expect(l.series.t).toEqual(report.leaks[i].series.map((p) => p[0])); // short series are kept whole
      });
    });
  }

  test("an hour of samples is reduced to about 2,000 real samples", () => {
    const report = bigReport({ sites: 100, seconds: 3600 });
    const packed = packReport(report);
    const s = packed.processes[0].series;
    expect(s.samples).toBe(7200);
    expect(s.t.length).toBeLessThanOrEqual(2000);
    const rows = new Map(report.processes[0].series.map((r) => [r[0], r]));
    s.t.forEach((t, i) => expect([t, s.values[0][i], s.values[1][i]]).toEqual(rows.get(t)));
    expect(Math.max(...s.values[0])).toBe(Math.max(...report.processes[0].series.map((r) => r[1])));
  });

  test("compressed inline data decodes to the same thing (DecompressionStream)", async () => {
    const packed = packReport(leakReport());
    for (const compress of [true, false]) {
      const block = encodeData(packed, compress);
      const el = { getAttribute: () => block.encoding, textContent: block.text } as unknown as HTMLElement;
      expect(await readInlineData(el)).toEqual(JSON.parse(JSON.stringify(packed)));
    }
  });
});
