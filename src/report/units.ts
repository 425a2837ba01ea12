// The one number vocabulary of every output: the analysis prose, the terminal
// report, the live status line and the HTML app all print numbers through this
// file, so one figure reads the same everywhere. Bytes are binary and labelled
// so (KiB, MiB, GiB: 1 MiB = 1,048,576 bytes); one digit below 100 of a unit,
// none above. No imports: the web bundle uses this file too.
export const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** |n| scaled to its unit: 1536 → { value: 1.5, unit: "KiB" }. Rounding never prints "1024.0 KiB". */
export function scaleBytes(n: number): { value: number; unit: (typeof BYTE_UNITS)[number] } {
  let value = Math.abs(n);
  let u = 0;
  while (u < BYTE_UNITS.length - 1 && roundTo(value, digitsFor(value, u)) >= 1024) {
    value /= 1024;
    u++;
  }
  return { value, unit: BYTE_UNITS[u]! };
}

function digitsFor(value: number, unitIndex: number): number {
  return unitIndex === 0 || value >= 99.95 ? 0 : 1;
}

function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Digits worth printing: none for bytes or three-digit values, one otherwise. */
export function byteDigits(value: number, unit: string): number {
  return digitsFor(value, unit === "B" ? 0 : 1);
}

/** 1536 → "1.5 KiB"; negative numbers get "-". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  const { value, unit } = scaleBytes(n);
  const text = value.toFixed(byteDigits(value, unit));
  // A value that rounds to zero has no sign.
  return `${n < 0 && Number(text) !== 0 ? "-" : ""}${text} ${unit}`;
}

/** "+2.1 MiB" / "-64.0 KiB": a change. */
export function formatGrowth(n: number): string {
  const text = formatBytes(n);
  return n > 0 && !/^0(\.0)? /.test(text) ? `+${text}` : text;
}

/** "+2.1 MiB/s": a rate, always signed. */
export function formatRate(bytesPerSec: number): string {
  const text = formatBytes(bytesPerSec);
  return `${text.startsWith("-") ? "" : "+"}${text}/s`;
}

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return "?";
  return Math.round(n).toLocaleString("en-US");
}

/** "1 allocation", "2,048 allocations". */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${formatCount(n)} ${Math.round(n) === 1 ? singular : plural}`;
}

/** 0.87 → "87%". */
export function formatPercent(x: number): string {
  if (!Number.isFinite(x)) return "?";
  return `${Math.round(x * 100)}%`;
}

/** Seconds in words: "850 ms", "4.5 s", "12 s", "3.5 min", "1.2 h". */
export function formatSec(sec: number): string {
  if (!Number.isFinite(sec)) return "? s";
  if (sec < 1 && sec > 0) return `${Math.round(sec * 1000)} ms`;
  if (sec < 60) return `${sec < 10 ? sec.toFixed(1) : sec.toFixed(0)} s`;
  if (sec < 3600) return `${(sec / 60).toFixed(sec < 600 ? 1 : 0)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

/** A moment of a run as a clock since its start: "00:41", "12:05", "1:02:09". */
export function formatClock(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "?";
  const whole = Math.floor(sec);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/** What the collector saw, in one short line (the full error note is `collector.note`). */
export function collectorSummary(c: {
  name: string;
  intervalSec: number;
  sampleBytes: number;
  fineBytes?: number;
  nativeSampling?: boolean;
}): string {
  const every = `samples every ${c.intervalSec} s`;
  if (c.sampleBytes <= 0) return `${c.name} (exact), ${every}`;
  const fine = c.fineBytes && c.fineBytes < c.sampleBytes ? c.fineBytes : c.sampleBytes;
  // One standard error of a 1 MiB site's estimate, sqrt(1 MiB × interval), as a share of it.
  const err = Math.sqrt(1048576 * fine) / 1048576;
  const short = (n: number) => formatBytes(n).replace(".0 ", " ");
  const finer = fine < c.sampleBytes ? ` (~${short(fine)} where memory stays)` : "";
  const shim = c.nativeSampling ? "; C allocations too" : "";
  return `${c.name}, 1 per ~${short(c.sampleBytes)} allocated${finer}: ±${(err * 100).toFixed(1)}% at 1 MiB${shim}; ${every}`;
}

/** "× 366,500 objects, 25.2 MiB (counted)", "× ~81,474 objects ±3,453, 1.9 MiB ±80.9 KiB", or "× ~737,122 objects, 49.5 MiB (approximate)". */
export function retainerFigures(r: {
  objects: number;
  bytes: number;
  exact?: boolean;
  approximate?: boolean;
  objectsError?: number;
  bytesError?: number;
}): string {
  if (r.exact) return `× ${formatCount(r.objects)} objects, ${formatBytes(r.bytes)} (counted)`;
  if (r.approximate || r.objectsError === undefined || r.bytesError === undefined) {
    return `× ~${formatCount(r.objects)} objects, ${formatBytes(r.bytes)} (approximate: the stack's live figures split by path)`;
  }
  // Errors of 0 without `exact`: an exact collector saw every object of the stack on this path.
  const objects = r.objectsError >= 0.5 ? ` ±${formatCount(r.objectsError)}` : "";
  const bytes = r.bytesError >= 0.5 ? ` ±${formatBytes(r.bytesError)}` : "";
  return `× ${objects || bytes ? "~" : ""}${formatCount(r.objects)} objects${objects}, ${formatBytes(r.bytes)}${bytes}`;
}

/**
 * The target's command as one short line, as a shell would take it: an argument with spaces or
 * quotes in single quotes, a program given inline (`python -c "..."`) by its first line and "…",
 * the whole cut at `max` characters. Not escaped (the caller escapes for its medium).
 */
export function commandLine(argv: readonly string[], max = 160): string {
  const words = argv.map((a) => {
    const lines = a.split(/\r?\n/);
    const first = lines.find((l) => l.trim() !== "") ?? "";
    const text = lines.length > 1 ? `${first.trim()} …` : a;
    return text === "" || /[\s'"\\$`]/.test(text) ? `'${text.replace(/'/g, `'\\''`)}'` : text;
  });
  const line = words.join(" ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

// Characters that a terminal would act on rather than print: C0 controls (tab and
// newline included: a name must stay on its line), DEL, C1 controls, and the
// Unicode controls that reorder or hide text (bidi overrides and isolates, line and
// paragraph separators, zero-width joiners are harmless and kept).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** A string from the target, made safe to print: every unsafe character written as \xNN or \uNNNN. */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Every string inside a JSON-like value escaped (a copy; numbers and structure unchanged). */
export function escapeDeep<T>(value: T): T {
  if (typeof value === "string") return escapeText(value) as T;
  if (Array.isArray(value)) return value.map((v) => escapeDeep(v)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[escapeText(k)] = escapeDeep(v);
    return out as T;
  }
  return value;
}

/**
 * A native leak's owner path figures: "× ~504 ndarray 64×256 float64 ±9 holding 63.2 MiB ±1.1 MiB native
 * memory" (owners found by pointer: the path's objects are the owners, its bytes the native memory they
 * hold), or "~12.1 MiB native memory, owned by the objects made at this line on this path" (by stack: no
 * object points to the blocks; the stack's native bytes split by the path's share of its sampled objects).
 */
export function ownerFigures(
  r: { objects: number; bytes: number; objectsError?: number; bytesError?: number; approximate?: boolean },
  owner: { by: "pointer" | "stack"; types: { desc: string }[] },
): string {
  if (owner.by === "stack") return `~${formatBytes(r.bytes)} native memory, owned by the objects made at this line on this path`;
  const what = owner.types.length === 1 ? owner.types[0].desc : "objects";
  const objects = r.objectsError !== undefined && r.objectsError >= 0.5 ? ` ±${formatCount(r.objectsError)}` : "";
  const bytes = r.bytesError !== undefined && r.bytesError >= 0.5 ? ` ±${formatBytes(r.bytesError)}` : "";
  const about = objects || bytes || r.approximate ? "~" : "";
  return `× ${about}${formatCount(r.objects)} ${what}${objects} holding ${formatBytes(r.bytes)}${bytes} native memory`;
}

/** A native leak's owners in one line: "owned by ~504 ndarray 64×256 float64 holding 63.2 MiB native memory". */
export function ownerLine(owner: {
  by: "pointer" | "stack";
  types: { desc: string; objects: number; bytes: number }[];
  reached?: number;
}): string {
  if (owner.by === "stack" || owner.types.length === 0)
    return "owned by the Python objects made at this line (no object points to the blocks: their construction allocated them)";
  const parts = owner.types
    .slice(0, 3)
    .map((t) => `~${formatCount(t.objects)} ${t.desc} holding ${formatBytes(t.bytes)}`);
  const more = owner.types.length > 3 ? `, and ${owner.types.length - 3} more types` : "";
  return `owned by ${parts.join(", ")}${more} of native memory${reachedWords(owner.reached)}`;
}

/** " (their pointers reach 2% of this stack's native memory)" when they reach less than 90% of it. */
export function reachedWords(reached: number | undefined): string {
  if (reached === undefined || reached >= 0.9) return "";
  const pct = reached < 0.01 ? "under 1%" : `${Math.round(reached * 100)}%`;
  return (
    ` (their pointers reach ${pct} of this stack's native memory; ` +
    "the rest lies deeper than leakhound follows pointers, or no Python object owns it)"
  );
}

/** Whether a process's threads are worth a line of the report: they pile up, or rose by 8 or more. */
export function threadsWorthShowing(f: { start: number; peak: number; growing: boolean } | undefined): boolean {
  return f !== undefined && (f.growing || f.peak - f.start >= 8);
}

/** A process's threads over the run: "3 → 714, still growing (+85/s): threads are started and never end". */
export function threadWords(f: { start: number; end: number; peak: number; ratePerSec: number; growing: boolean }): string {
  const peak = f.peak > Math.max(f.start, f.end) ? ` (peak ${formatCount(f.peak)})` : "";
  const span = `${formatCount(f.start)} → ${formatCount(f.end)}${peak}`;
  if (!f.growing) return span;
  const r = Math.abs(f.ratePerSec);
  const rate = `${f.ratePerSec < 0 ? "−" : "+"}${r >= 10 ? formatCount(Math.round(r)) : r.toFixed(1)}/s`;
  return `${span}, still growing (${rate}): threads are started and never end`;
}

/** The agent's frame for a stack with no Python frame (C code ran while its thread ran no Python). */
export function isNoPythonFrame(f: { file: string; line: number }): boolean {
  return f.file === "<unknown>" && f.line === 0;
}

export const NO_PYTHON_FRAME = "(no Python frame)";
