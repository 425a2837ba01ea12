// Memory over time (uPlot): RSS and Python heap of the processes on the left
// axis, the top leaking sites' live bytes on the right; the warm-up the analysis
// ignored is shaded. Drag to zoom, double-click to reset, hover for values.
import uPlot from "uplot";
import { cssVar, h } from "./dom.js";
import * as fmt from "./format.js";
import type { Model, Series } from "./model.js";

const TOP_LEAKS = 5;

/** Tick steps for the time axis, in seconds: whole seconds, then round minutes and hours. */
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** Tick steps for byte axes: 1, 2, 5 × powers of 1024 (so ticks read 64 MB, not 57.2 MB). */
const BYTE_INCRS = [0, 1, 2, 3, 4].flatMap((k) => [1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 250, 256, 500, 512].map((m) => m * 1024 ** k)).sort((a, b) => a - b);

interface Line {
  key: string;
  label: string;
  color: string;
  scale: "mem" | "site";
  dash?: number[];
  width: number;
  fill?: string;
  t: number[];
  y: number[];
}

function primaryIndex(model: Model): number {
  const pid = model.head.target.pid;
  const i = model.processes.findIndex((p) => p.pid === pid);
  return i >= 0 ? i : 0;
}

function lines(model: Model): { lines: Line[]; warmup: number } {
  const out: Line[] = [];
  const procColors = [cssVar("--c-rss"), cssVar("--c-rss-2"), cssVar("--c-rss-3"), cssVar("--c-rss-4")];
  const leakColors = [cssVar("--c-leak-1"), cssVar("--c-leak-2"), cssVar("--c-leak-3"), cssVar("--c-leak-4"), cssVar("--c-leak-5")];
  const pi = primaryIndex(model);
  const order = model.processes.map((_, i) => i).sort((a, b) => (a === pi ? -1 : b === pi ? 1 : a - b));
  const multi = model.processes.length > 1;
  order.slice(0, 4).forEach((i, k) => {
    const p = model.processes[i];
    const s: Series = p.series;
    const suffix = multi ? ` (pid ${p.pid})` : "";
    out.push({ key: `rss:${p.pid}`, label: `RSS${suffix}`, color: procColors[k], scale: "mem", width: 2, fill: k === 0 ? cssVar("--c-rss-fill") : undefined, t: s.t, y: s.values[0] ?? [] });
    if (k === 0 || model.processes.length <= 2) {
      out.push({ key: `heap:${p.pid}`, label: `Python heap${suffix}`, color: k === 0 ? cssVar("--c-heap") : procColors[k], scale: "mem", width: 2, dash: k === 0 ? undefined : [4, 3], t: s.t, y: s.values[1] ?? [] });
    }
  });
  model.leaks.slice(0, TOP_LEAKS).forEach((l, k) => {
    const name = l.site ? `#${l.rank} ${l.site.function} (${fmt.shortFile(l.site.file)}:${l.site.line})` : `#${l.rank} (unknown site)`;
    out.push({ key: `leak:${l.pid}:${l.stackId}:${l.kind}`, label: name, color: leakColors[k], scale: "site", width: 1.5, dash: [6, 3], t: l.series.t, y: l.series.values[0] ?? [] });
  });
  const warmup = model.processes[pi]?.warmupSec ?? 0;
  return { lines: out, warmup };
}

function align(ls: Line[]): uPlot.AlignedData {
  if (ls.length === 0) return [[]];
  const tables = ls.map((l) => {
    // uPlot.join wants ascending x with no duplicates.
    const idx = l.t.map((_, i) => i).filter((i) => Number.isFinite(l.t[i])).sort((a, b) => l.t[a] - l.t[b]);
    const t: number[] = [];
    const y: (number | null)[] = [];
    for (const i of idx) {
      if (t.length && t[t.length - 1] === l.t[i]) continue;
      t.push(l.t[i]);
      y.push(Number.isFinite(l.y[i]) ? l.y[i] : null);
    }
    return [t, y] as uPlot.AlignedData;
  });
  return uPlot.join(tables);
}

function warmupPlugin(getWarmup: () => number): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const w = getWarmup();
        if (!(w > 0)) return;
        const xMin = u.scales.x.min ?? 0;
        if (w <= xMin) return;
        const { left, top, width, height } = u.bbox;
        const x0 = Math.max(left, u.valToPos(xMin, "x", true));
        const x1 = Math.min(left + width, u.valToPos(w, "x", true));
        if (x1 <= x0) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.fillStyle = cssVar("--c-warmup");
        ctx.fillRect(x0, top, x1 - x0, height);
        ctx.fillStyle = cssVar("--muted");
        ctx.font = `${11 * devicePixelRatio}px ${cssVar("--font-sans", "sans-serif")}`;
        ctx.textBaseline = "top";
        const room = x1 - x0 - 8 * devicePixelRatio;
        const label = ["warm-up (ignored)", "warm-up"].find((l) => ctx.measureText(l).width < room);
        if (label) ctx.fillText(label, x0 + 5 * devicePixelRatio, top + 6 * devicePixelRatio);
        ctx.restore();
      },
    },
  };
}

export class MemoryChart {
  readonly el: HTMLElement;
  private plotBox: HTMLElement;
  private note: HTMLElement;
  private plot: uPlot | null = null;
  private keys = "";
  private warmup = 0;
  private zoomed = false;
  private ro: ResizeObserver;

  constructor() {
    this.plotBox = h("div", { class: "chart-box" });
    this.note = h("p", { class: "chart-note muted small" });
    this.el = h("div", { class: "memory-chart" }, this.plotBox, this.note);
    this.ro = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize(this.size());
    });
    this.ro.observe(this.plotBox);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(320, this.plotBox.clientWidth), height: 320 };
  }

  update(model: Model): void {
    const { lines: ls, warmup } = lines(model);
    this.warmup = warmup;
    const data = align(ls);
    const keys = ls.map((l) => l.key).join("|");
    const proc = model.processes[primaryIndex(model)];
    const shown = (data[0] as number[]).length;
    const samples = proc?.series.samples ?? 0;
    this.note.textContent = [
      "Drag across the chart to zoom, double-click to reset; click a legend entry to hide it.",
      samples > (proc?.series.t.length ?? 0) ? `Showing ${fmt.count(proc.series.t.length)} of ${fmt.count(samples)} samples (the minimum and maximum of every interval are kept).` : "",
      warmup > 0 ? `The first ${fmt.duration(warmup)} (shaded) were ignored as warm-up.` : "",
    ].filter(Boolean).join(" ");
    if (ls.length === 0 || shown === 0) {
      this.plot?.destroy();
      this.plot = null;
      this.keys = "";
      this.plotBox.replaceChildren(h("p", { class: "empty" }, "No memory samples yet."));
      return;
    }
    if (this.plot && keys === this.keys) {
      this.plot.setData(data, !this.zoomed);
      return;
    }
    this.plot?.destroy();
    this.plotBox.replaceChildren();
    this.keys = keys;
    this.zoomed = false;
    const hasSites = ls.some((l) => l.scale === "site");
    const axisStroke = cssVar("--muted");
    const grid = { stroke: cssVar("--grid"), width: 1 };
    const font = `12px ${cssVar("--font-sans", "sans-serif")}`;
    const opts: uPlot.Options = {
      ...this.size(),
      class: "lh-uplot",
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 7 } },
      scales: { x: { time: false }, mem: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] }, site: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      legend: { live: true },
      plugins: [warmupPlugin(() => this.warmup)],
      hooks: {
        setSelect: [() => (this.zoomed = true)],
        // The visible time range, for people reading the DOM (and the tests).
        setScale: [
          (u: uPlot, key: string) => {
            if (key !== "x") return;
            this.el.dataset.xMin = String(u.scales.x.min ?? "");
            this.el.dataset.xMax = String(u.scales.x.max ?? "");
          },
        ],
      },
      axes: [
        { stroke: axisStroke, grid, ticks: grid, font, incrs: TIME_INCRS, values: (_u, vals) => vals.map((v) => fmt.clock(v)), label: "time since start", labelFont: font, labelSize: 20 },
        { scale: "mem", stroke: axisStroke, grid, ticks: grid, font, size: 78, incrs: BYTE_INCRS, values: (_u, vals) => vals.map((v) => fmt.bytesTick(v)), label: "process memory", labelFont: font, labelSize: 20 },
        ...(hasSites
          ? [{ scale: "site", side: 1, stroke: axisStroke, grid: { show: false }, ticks: grid, font, size: 78, incrs: BYTE_INCRS, values: (_u: uPlot, vals: number[]) => vals.map((v) => fmt.bytesTick(v)), label: "leaking sites (live)", labelFont: font, labelSize: 20 } as uPlot.Axis]
          : []),
      ],
      series: [
        { label: "time", value: (_u, v) => (v == null ? "–" : fmt.clock(v)) },
        ...ls.map(
          (l): uPlot.Series => ({
            label: l.label,
            scale: l.scale,
            stroke: l.color,
            width: l.width,
            dash: l.dash,
            fill: l.fill,
            spanGaps: true,
            points: { show: false },
            value: (_u, v) => (v == null ? "–" : fmt.bytes(v)),
          }),
        ),
      ],
    };
    this.plot = new uPlot(opts, data, this.plotBox);
    // A double-click resets the zoom (uPlot's own); after that, live updates follow the data again.
    this.plot.over.addEventListener("dblclick", () => (this.zoomed = false));
  }
}
