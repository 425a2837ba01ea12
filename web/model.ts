// The app's in-memory model, unpacked from the view model (see
// src/report/html/view-model.ts) that both data sources deliver.
import type { Frame } from "../src/protocol/messages.js";
import type { LeakReport, ProcessSummary, RetainerReport } from "../src/report/model.js";
import type { PackedReport, PackedSeries, ReportHead } from "../src/report/html/view-model.js";

export interface Series {
  t: number[];
  values: number[][];
  /** Samples before downsampling. */
  samples: number;
}

export interface Leak extends Omit<LeakReport, "site" | "stack" | "series"> {
  site: Frame | null;
  stack: Frame[];
  series: Series;
  retainers: RetainerReport[];
}

export interface Proc extends Omit<ProcessSummary, "series"> {
  series: Series;
}

export interface Site {
  /** Row index in the report's order. */
  index: number;
  pid: number;
  stackId: number;
  stackIndex: number;
  site: Frame | null;
  stack: Frame[];
  liveBytes: number;
  liveCount: number;
  growthBytes: number;
  growthBytesPerSec: number;
}

export interface Model {
  head: ReportHead;
  frames: Frame[];
  stacks: Frame[][];
  leaks: Leak[];
  processes: Proc[];
  sites: Site[];
}

function series(s: PackedSeries | undefined): Series {
  return s ? { t: s.t, values: s.values, samples: s.samples } : { t: [], values: [], samples: 0 };
}

export function unpack(p: PackedReport): Model {
  if (!p || p.format !== "leakhound/view@1") throw new Error("not a leakhound report (unknown data format)");
  const frames: Frame[] = [];
  for (let i = 0; i + 2 < p.frames.length; i += 3) {
    frames.push({ file: p.strings[p.frames[i]] ?? "?", line: p.frames[i + 1], function: p.strings[p.frames[i + 2]] ?? "?" });
  }
  const stacks = p.stacks.map((ids) => ids.map((i) => frames[i]).filter((f): f is Frame => !!f));
  const frameAt = (i: number): Frame | null => (i >= 0 ? frames[i] ?? null : null);
  const leaks: Leak[] = p.leaks.map((l) => ({
    ...l,
    retainers: l.retainers ?? [],
    site: frameAt(l.site),
    stack: stacks[l.stack] ?? [],
    series: series(l.series),
  }));
  const processes: Proc[] = p.processes.map((pr) => ({ ...pr, series: series(pr.series) }));
  const c = p.sites;
  const n = c.pid.length;
  const sites: Site[] = new Array(n);
  for (let i = 0; i < n; i++) {
    sites[i] = {
      index: i,
      pid: c.pid[i],
      stackId: c.stackId[i],
      stackIndex: c.stack[i],
      site: frameAt(c.site[i]),
      stack: stacks[c.stack[i]] ?? [],
      liveBytes: c.liveBytes[i],
      liveCount: c.liveCount[i],
      growthBytes: c.growthBytes[i],
      growthBytesPerSec: c.growthBytesPerSec[i],
    };
  }
  return { head: p.head, frames, stacks, leaks, processes, sites };
}

/** Reads the data a static report carries inline (JSON, or gzip+base64 for big reports). */
export async function readInlineData(el: HTMLElement): Promise<PackedReport> {
  const encoding = el.getAttribute("data-encoding") ?? "json";
  const text = el.textContent ?? "";
  if (encoding === "json") return JSON.parse(text) as PackedReport;
  if (encoding !== "gzip-base64") throw new Error(`unknown data encoding ${encoding}`);
  if (typeof DecompressionStream === "undefined") {
    throw new Error("this browser cannot decompress the report data (DecompressionStream is missing); open the report in a current Chrome, Firefox, Edge or Safari");
  }
  const bin = atob(text.trim());
  const buf = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
  const stream = new Blob([buf]).stream().pipeThrough(new DecompressionStream("gzip"));
  const json = await new Response(stream).text();
  return JSON.parse(json) as PackedReport;
}
