// The one step every export shares: a capture's allocation stacks with their weights.
// The capture records, per stack and sample, the live bytes and live objects the
// collector saw (an estimate scaled from the sampled allocations for the sampling
// collector). "In use" is the last of those figures. Allocation totals are not
// recorded, so "allocated" is a lower bound read from the same series: every rise of
// a stack's live figures between two samples was allocated then (frees only lower
// them), counted from zero before the stack's first report.
import path from "node:path";
import type { Capture, ProcessCapture, SiteSeries } from "../capture/model.js";
import type { Frame } from "../protocol/messages.js";
import { denseSeries } from "../analysis/stacks.js";
import { lastKnown } from "../analysis/stats/series.js";

export const SAMPLE_TYPES = ["inuse_space", "inuse_objects", "alloc_space", "alloc_objects"] as const;
export type SampleType = (typeof SAMPLE_TYPES)[number];

export interface WeightedStack {
  /** Frames innermost first, as the capture keeps them (synthetic frames have file ""). */
  frames: Frame[];
  /** inuse_space, inuse_objects, alloc_space, alloc_objects (whole numbers). */
  values: Record<SampleType, number>;
}

export interface ProcessStacks {
  pid: number;
  /** "pid 1234: python app.py", the root frame when an export holds several processes. */
  label: string;
  proc: ProcessCapture;
  stacks: WeightedStack[];
}

/** Leaf frame of memory the native (malloc-level) shim sampled under a Python stack. */
export const NATIVE_FRAME: Frame = { file: "", line: 0, function: "[native allocation]" };
/** Memory of stacks too small for the collector to track one by one (the heap's remainder). */
export const OTHER_FRAME: Frame = { file: "", line: 0, function: "[other: stacks too small to track]" };

/** The processes an export holds: all of them, or the one `pid` names (null when there is none). */
export function selectProcesses(capture: Capture, pid?: number): ProcessCapture[] | null {
  const withSamples = capture.processes.filter((p) => p.samples.length > 0);
  if (pid === undefined) return withSamples;
  const one = capture.processes.find((p) => p.pid === pid);
  return one ? [one] : null;
}

export function weightedStacks(procs: readonly ProcessCapture[]): ProcessStacks[] {
  return procs.map((proc) => {
    const n = proc.samples.length;
    const bytes = new Float64Array(n);
    const count = new Float64Array(n);
    const stacks: WeightedStack[] = [];
    const add = (series: SiteSeries, leaf: Frame | null) => {
      const frames = proc.stacks.get(series.stackId) ?? [];
      const s = weigh(series, n, bytes, count);
      if (!s) return;
      stacks.push({ frames: leaf ? [leaf, ...frames] : frames, values: s });
    };
    for (const s of proc.sites.values()) add(s, null);
    for (const s of proc.nativeSites.values()) add(s, NATIVE_FRAME);
    const other = proc.samples.map((p) => p.otherBytes);
    const otherSpace = Math.round(other.length ? (other[other.length - 1] ?? 0) : 0);
    const otherAlloc = Math.round(risesFromZero(Float64Array.from(other)));
    if (otherSpace > 0 || otherAlloc > 0) {
      stacks.push({ frames: [OTHER_FRAME], values: { inuse_space: otherSpace, inuse_objects: 0, alloc_space: otherAlloc, alloc_objects: 0 } });
    }
    return { pid: proc.pid, label: processLabel(proc), proc, stacks };
  });
}

function weigh(series: SiteSeries, n: number, bytes: Float64Array, count: Float64Array): Record<SampleType, number> | null {
  const { bytes: b, count: c } = denseSeries(series, n, bytes, count);
  const values = {
    inuse_space: Math.round(lastKnown(b) || 0),
    inuse_objects: Math.round(lastKnown(c) || 0),
    alloc_space: Math.round(risesFromZero(b)),
    alloc_objects: Math.round(risesFromZero(c)),
  };
  return values.inuse_space || values.inuse_objects || values.alloc_space || values.alloc_objects ? values : null;
}

/** Sum of the rises of a series (NaN = not reported yet), from 0. */
function risesFromZero(a: Float64Array): number {
  let prev = 0;
  let sum = 0;
  for (const v of a) {
    if (Number.isNaN(v)) continue;
    if (v > prev) sum += v - prev;
    prev = v;
  }
  return sum;
}

function processLabel(proc: ProcessCapture): string {
  const argv = proc.argv.length ? proc.argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ") : "python";
  return `pid ${proc.pid}: ${argv.length > 120 ? `${argv.slice(0, 117)}...` : argv}`;
}

/** "function (file:line)" with the file relative to `cwd` when it lies below it; for flame graphs. */
export function frameName(f: Frame, cwd: string): string {
  if (!f.file) return f.function;
  const rel = cwd && path.isAbsolute(f.file) ? path.relative(cwd, f.file) : f.file;
  const file = rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : f.file;
  return `${f.function || "?"} (${file}${f.line > 0 ? `:${f.line}` : ""})`;
}
