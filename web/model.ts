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
  /** The stack's node in the packed call tree (equal stacks, equal nodes). */
  stackNode: number;
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
  const frameAt = (i: number): Frame | null => (i >= 0 ? frames[i] ?? null : null);
  // Stacks come as a call tree; rebuild each one (innermost first) once per node.
  const nodes = p.stackNodes;
  const stackCache = new Map<number, Frame[]>();
  const stackOf = (node: number): Frame[] => {
    if (node < 0 || 2 * node + 1 >= nodes.length) return [];
    let s = stackCache.get(node);
    if (!s) {
      const out: Frame[] = [];
      for (let n = node, guard = 0; n >= 0 && 2 * n + 1 < nodes.length && guard < 10_000; n = nodes[2 * n], guard++) {
        const f = frameAt(nodes[2 * n + 1]);
        if (f) out.push(f);
      }
      s = out;
      stackCache.set(node, s);
    }
    return s;
  };
  const leaks: Leak[] = p.leaks.map((l) => ({
    ...l,
    retainers: l.retainers ?? [],
    site: frameAt(l.site),
    stack: stackOf(l.stack),
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
      stackNode: c.stack[i],
      site: frameAt(c.site[i]),
      stack: stackOf(c.stack[i]),
      liveBytes: c.liveBytes[i],
      liveCount: c.liveCount[i],
      growthBytes: c.growthBytes[i],
      growthBytesPerSec: c.growthBytesPerSec[i],
    };
  }
  return { head: p.head, frames, leaks, processes, sites };
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
