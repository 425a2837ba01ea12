// Synthetic captures for analysis tests: describe each allocation stack's live bytes
// as a function of time and get a Capture shaped exactly like a recorded one.
import type { Capture, CaptureMeta, Explanation, ProcessCapture, SamplePoint, SiteSeries } from "../../src/capture/model.js";
import type { Frame, RetainerResult } from "../../src/protocol/messages.js";

export const USER_FILE = "/home/dev/app/main.py";
export const STDLIB = "/usr/lib/python3.12";

export function frame(file: string, line: number, fn = "f"): Frame {
  return { file, line, function: fn };
}

/** A user frame in main.py. */
export function at(line: number, fn = "handle"): Frame {
  return frame(USER_FILE, line, fn);
}

/** A stdlib frame, e.g. lib("logging/__init__.py", 1100, "__init__"). */
export function lib(path: string, line: number, fn = "f"): Frame {
  return frame(`${STDLIB}/${path}`, line, fn);
}

export type Curve = (t: number, i: number) => number;

export interface SynthSite {
  /** Innermost first; defaults to [at(10 + index)]. */
  frames?: Frame[];
  bytes: Curve;
  /** Live objects; defaults to bytes / 100. */
  count?: Curve;
  stackId?: number;
}

export interface SynthActive {
  frames: Frame[];
  hits: Curve;
}

export interface SynthProcess {
  pid?: number;
  ppid?: number;
  /** Run length in seconds (default 12) and sample interval (default 0.5). */
  seconds?: number;
  interval?: number;
  collector?: "tracemalloc" | "sampling";
  sampleBytes?: number;
  sites?: SynthSite[];
  nativeSites?: SynthSite[];
  /** Heap outside the tracked stacks (otherBytes); default a flat 2 MB. */
  other?: Curve;
  /** RSS from the heap; default 20 MB + 1.2 × heap + overhead. */
  rss?: (t: number, i: number, heap: number, overhead: number) => number;
  /** Collector overhead; default 5% of the heap. */
  overhead?: (t: number, i: number, heap: number) => number;
  active?: SynthActive[];
  retainers?: RetainerResult[] | null;
  exited?: boolean;
  argv?: string[];
}

export function synthProcess(spec: SynthProcess = {}): ProcessCapture {
  const interval = spec.interval ?? 0.5;
  const n = Math.max(0, Math.round((spec.seconds ?? 12) / interval));
  const times = Array.from({ length: n }, (_, i) => +((i + 1) * interval).toFixed(6));
  const stacks = new Map<number, Frame[]>();
  let nextId = 1;
  const build = (list: SynthSite[] | undefined): Map<number, SiteSeries> => {
    const out = new Map<number, SiteSeries>();
    (list ?? []).forEach((s, k) => {
      const stackId = s.stackId ?? nextId++;
      nextId = Math.max(nextId, stackId + 1);
      stacks.set(stackId, s.frames ?? [at(10 + k)]);
      const bytes = new Float64Array(n);
      const count = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const b = s.bytes(times[i], i);
        bytes[i] = Number.isNaN(b) ? Number.NaN : Math.max(0, b);
        count[i] = Number.isNaN(b) ? Number.NaN : s.count ? s.count(times[i], i) : Math.round(bytes[i] / 100);
      }
      out.set(stackId, { stackId, bytes, count });
    });
    return out;
  };
  const sites = build(spec.sites);
  const nativeSites = build(spec.nativeSites);
  const other = spec.other ?? (() => 2e6);
  const samples: SamplePoint[] = [];
  for (let i = 0; i < n; i++) {
    const t = times[i];
    let heap = Math.max(0, other(t, i));
    for (const s of sites.values()) if (!Number.isNaN(s.bytes[i])) heap += s.bytes[i];
    const overhead = spec.overhead ? spec.overhead(t, i, heap) : 0.05 * heap;
    const rss = spec.rss ? spec.rss(t, i, heap, overhead) : 20e6 + 1.2 * heap + overhead;
    samples.push({ seq: i, t, rss, heap, overhead, gcEnabled: true, otherBytes: Math.max(0, other(t, i)), cost: 0.001 });
  }
  const active = new Map<number, [number, number][]>();
  for (const a of spec.active ?? []) {
    const id = nextId++;
    stacks.set(id, a.frames);
    const hits: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      const h = a.hits(times[i], i);
      if (h > 0) hits.push([i, h]);
    }
    active.set(id, hits);
  }
  const sampling = spec.collector === "sampling";
  return {
    pid: spec.pid ?? 4242,
    ppid: spec.ppid ?? 1,
    python: "3.12.1",
    executable: "/usr/bin/python3",
    argv: spec.argv ?? ["main.py"],
    cwd: "/home/dev/app",
    startedAt: 1_700_000_000_000,
    collector: {
      name: sampling ? "sampling" : "tracemalloc",
      intervalSec: interval,
      nframes: 16,
      sampleBytes: sampling ? (spec.sampleBytes ?? 512 * 1024) : 0,
    },
    exitCode: 0,
    signal: null,
    stacks,
    samples,
    sites,
    nativeSites,
    active,
    explanations:
      spec.retainers === null
        ? []
        : [{ reason: "exit", t: null, at: null, results: spec.retainers ?? [], visited: 0, elapsedSec: 0, truncated: false }],
    tests: [],
    logs: [],
    exited: spec.exited ?? true,
  };
}

export function synthCapture(procs: SynthProcess | SynthProcess[] = {}, meta: Partial<CaptureMeta> = {}): Capture {
  const list = Array.isArray(procs) ? procs : [procs];
  return {
    meta: {
      format: 1,
      leakhoundVersion: "0.1.0-test",
      createdAt: 1_700_000_000_000,
      argv: ["python3", "main.py"],
      cwd: "/home/dev/app",
      complete: true,
      exitCode: 0,
      signal: null,
      notes: [],
      ...meta,
    },
    processes: list.map((p) => synthProcess(p)),
    unsupported: [],
    sources: new Map(),
  };
}

// ---------------------------------------------------------------- randomness

/** Deterministic uniform [0, 1) generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal variate. */
export function gauss(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** Poisson variate (normal approximation above 50). */
export function poisson(r: () => number, mean: number): number {
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss(r)));
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= r();
  } while (p > l);
  return k - 1;
}

// ---------------------------------------------------------------- shapes

export const shape = {
  flat: (level: number): Curve => () => level,
  linear: (base: number, perSec: number): Curve => (t) => base + perSec * t,
  /** Fills at `perSec` until `until` seconds, then stays. */
  fillThenFlat: (base: number, perSec: number, until: number): Curve => (t) => base + perSec * Math.min(t, until),
  /** Rises from `floor` by `amplitude` over each period, then drops back; `phase` in seconds shifts the cycle. */
  sawtooth: (floor: number, amplitude: number, periodSec: number, phase = 0): Curve => (t) =>
    floor + amplitude * ((((t + phase) % periodSec) + periodSec) % periodSec) / periodSec,
  /** Jumps by `step` every `everySec`. */
  steps: (base: number, step: number, everySec: number, offset = 0): Curve => (t) =>
    base + step * Math.max(0, Math.floor((t - offset) / everySec) + (offset > 0 ? 1 : 0)),
  /** Gaussian noise of σ around a curve. */
  noisy: (curve: Curve, sigma: number, seed: number): Curve => {
    const r = rng(seed);
    return (t, i) => curve(t, i) + sigma * gauss(r);
  },
  /** Uniform random level in [lo, hi) (requests in flight). */
  uniform: (lo: number, hi: number, seed: number): Curve => {
    const r = rng(seed);
    return () => lo + (hi - lo) * r();
  },
  /** A sampling collector's estimate: sampleBytes × Poisson(true / sampleBytes). */
  sampled: (curve: Curve, sampleBytes: number, seed: number): Curve => {
    const r = rng(seed);
    return (t, i) => sampleBytes * poisson(r, Math.max(0, curve(t, i)) / sampleBytes);
  },
  /**
   * A sampling collector's estimate of memory that is kept: each newly allocated byte is
   * sampled with probability 1/sampleBytes and stays sampled while it lives (so growth
   * arrives in steps of sampleBytes); a fall thins the sampled set in proportion.
   */
  sampledKept: (curve: Curve, sampleBytes: number, seed: number): Curve => {
    const r = rng(seed);
    let mean = 0;
    let count = 0;
    return (t, i) => {
      const next = Math.max(0, curve(t, i)) / sampleBytes;
      if (next >= mean) count += poisson(r, next - mean);
      else {
        let kept = 0;
        for (let k = 0; k < count; k++) if (r() < next / mean) kept++;
        count = kept;
      }
      mean = next;
      return count * sampleBytes;
    };
  },
  sum: (...curves: Curve[]): Curve => (t, i) => curves.reduce((s, c) => s + c(t, i), 0),
};

/** A retainer search answered at exit, as the host records it. */
export function exitSearch(results: RetainerResult[], extra: Partial<Explanation> = {}): Explanation {
  return { reason: "exit", t: null, at: null, results, visited: 0, elapsedSec: 0, truncated: false, ...extra };
}
