// The view model: the Report as the HTML app receives it, from the inlined data
// of a static report or over the live view's WebSocket (one app, two sources).
//
// It is the same data, packed for size: frames and stacks are interned (sites
// share most of their frames), the site table is columnar, and chart series are
// reduced to at most ~2,000 real samples per chart with min/max kept per bucket.
import type { Frame } from "../../protocol/messages.js";
import type { LeakReport, ProcessSummary, Report } from "../model.js";
import { minMaxIndices, pick } from "./downsample.js";

export const VIEW_FORMAT = "leakhound/view@1";

/** Points per chart after downsampling (process series and each leak series). */
export const DEFAULT_MAX_POINTS = 2000;

export type ReportHead = Omit<Report, "leaks" | "processes" | "sites">;

export interface PackedSeries {
  /** Sample times (seconds), then one column per value series. */
  t: number[];
  values: number[][];
  /** Samples before downsampling. */
  samples: number;
}

export interface PackedLeak extends Omit<LeakReport, "site" | "stack" | "series"> {
  /** Frame index, or -1 when the site is unknown. */
  site: number;
  /** Stack node (see PackedReport.stackNodes). */
  stack: number;
  /** values[0] = live bytes of the site. */
  series: PackedSeries;
}

export interface PackedProcess extends Omit<ProcessSummary, "series"> {
  /** values[0] = RSS, values[1] = Python heap. */
  series: PackedSeries;
}

/** The site table, one array per column, rows in the Report's order (largest live first). */
export interface PackedSites {
  pid: number[];
  stackId: number[];
  /** Stack node per row (see PackedReport.stackNodes). */
  stack: number[];
  /** Frame index per row, -1 when unknown. */
  site: number[];
  liveBytes: number[];
  liveCount: number[];
  growthBytes: number[];
  growthBytesPerSec: number[];
}

export interface PackedReport {
  format: typeof VIEW_FORMAT;
  head: ReportHead;
  /** Interned file and function names. */
  strings: string[];
  /** Flat [fileString, line, functionString] triples; frame i is at 3*i. */
  frames: number[];
  /**
   * Stacks as a call tree (stacks share their outer frames): flat [parent, frame]
   * pairs, node i at 2*i, parent -1 for an outermost frame. A stack is the node of
   * its innermost frame, or -1 for an empty stack.
   */
  stackNodes: number[];
  leaks: PackedLeak[];
  processes: PackedProcess[];
  sites: PackedSites;
}

export interface PackOptions {
  maxPoints?: number;
}

class Interner {
  readonly strings: string[] = [];
  readonly frames: number[] = [];
  readonly stackNodes: number[] = [];
  private stringIds = new Map<string, number>();
  private frameIds = new Map<string, number>();
  private nodeIds = new Map<string, number>();

  string(s: string): number {
    const text = String(s);
    let id = this.stringIds.get(text);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(text);
      this.stringIds.set(text, id);
    }
    return id;
  }

  frame(f: Frame | null | undefined): number {
    if (!f) return -1;
    const file = this.string(f.file);
    const fn = this.string(f.function);
    const line = Number.isFinite(f.line) ? f.line : 0;
    const key = `${file}:${line}:${fn}`;
    let id = this.frameIds.get(key);
    if (id === undefined) {
      id = this.frames.length / 3;
      this.frames.push(file, line, fn);
      this.frameIds.set(key, id);
    }
    return id;
  }

  /** The call-tree node of a stack's innermost frame (frames are innermost first). */
  stack(frames: Frame[] | null | undefined): number {
    const list = frames ?? [];
    let node = -1;
    for (let i = list.length - 1; i >= 0; i--) {
      const frame = this.frame(list[i]);
      const key = `${node},${frame}`;
      let id = this.nodeIds.get(key);
      if (id === undefined) {
        id = this.stackNodes.length / 2;
        this.stackNodes.push(node, frame);
        this.nodeIds.set(key, id);
      }
      node = id;
    }
    return node;
  }
}

function packSeries(rows: number[][], valueColumns: number, maxPoints: number): PackedSeries {
  const t = rows.map((r) => r[0]);
  const values: number[][] = [];
  for (let c = 1; c <= valueColumns; c++) values.push(rows.map((r) => r[c]));
  const keep = minMaxIndices(rows.length, values, maxPoints);
  return { t: pick(t, keep), values: values.map((v) => pick(v, keep)), samples: rows.length };
}

/** Rates are floats with noise digits; two decimals of a byte per second is plenty. */
function round2(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : x;
}

export function packReport(report: Report, opts: PackOptions = {}): PackedReport {
  const maxPoints = opts.maxPoints ?? DEFAULT_MAX_POINTS;
  const intern = new Interner();
  const { leaks, processes, sites, ...head } = report;

  const packedLeaks: PackedLeak[] = (leaks ?? []).map((leak) => {
    const { site, stack, series, ...rest } = leak;
    return {
      ...rest,
      site: intern.frame(site),
      stack: intern.stack(stack),
      series: packSeries(series ?? [], 1, maxPoints),
    };
  });

  const packedProcesses: PackedProcess[] = (processes ?? []).map((proc) => {
    const { series, ...rest } = proc;
    return { ...rest, series: packSeries(series ?? [], 2, maxPoints) };
  });

  const rows = sites ?? [];
  const cols: PackedSites = {
    pid: new Array(rows.length),
    stackId: new Array(rows.length),
    stack: new Array(rows.length),
    site: new Array(rows.length),
    liveBytes: new Array(rows.length),
    liveCount: new Array(rows.length),
    growthBytes: new Array(rows.length),
    growthBytesPerSec: new Array(rows.length),
  };
  rows.forEach((row, i) => {
    cols.pid[i] = row.pid;
    cols.stackId[i] = row.stackId;
    cols.stack[i] = intern.stack(row.stack);
    cols.site[i] = intern.frame(row.site);
    cols.liveBytes[i] = row.liveBytes;
    cols.liveCount[i] = row.liveCount;
    cols.growthBytes[i] = row.growthBytes;
    cols.growthBytesPerSec[i] = round2(row.growthBytesPerSec);
  });

  return {
    format: VIEW_FORMAT,
    head,
    strings: intern.strings,
    frames: intern.frames,
    stackNodes: intern.stackNodes,
    leaks: packedLeaks,
    processes: packedProcesses,
    sites: cols,
  };
}
