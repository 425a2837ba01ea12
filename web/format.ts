// Numbers for people: bytes, rates, durations, counts. Every figure goes through
// src/report/units.ts, the one vocabulary of the terminal report, the analysis
// prose and this app, so the same number reads the same everywhere.
import type { Frame } from "../src/protocol/messages.js";
import { countOf as unitsCountOf, formatBytes, formatCount, formatGrowth, formatPercent, formatRate, isNoPythonFrame, NO_PYTHON_FRAME, scaleBytes } from "../src/report/units.js";

export function bytes(n: number): string {
  return Number.isFinite(n) ? formatBytes(n) : "–";
}

/** Bytes for axis ticks: no trailing zeros ("20 MiB", "1.5 GiB"). */
export function bytesTick(n: number): string {
  if (!Number.isFinite(n)) return "";
  if (n === 0) return "0";
  const { value, unit } = scaleBytes(n);
  return `${n < 0 ? "-" : ""}${Number(value.toFixed(2))} ${unit}`;
}

export function signedBytes(n: number): string {
  return Number.isFinite(n) ? formatGrowth(n) : "–";
}

export function rate(n: number): string {
  return Number.isFinite(n) ? formatRate(n) : "–";
}

export function count(n: number): string {
  return Number.isFinite(n) ? formatCount(n) : "–";
}

/** "1 allocation", "2,048 allocations". */
export function countOf(n: number, singular: string): string {
  return Number.isFinite(n) ? unitsCountOf(n, singular) : "–";
}

export function percent(x: number): string {
  return Number.isFinite(x) ? formatPercent(x) : "–";
}

export function duration(sec: number): string {
  if (!Number.isFinite(sec)) return "–";
  if (sec < 1) return `${Math.round(sec * 1000)} ms`;
  if (sec < 60) return `${sec < 10 ? sec.toFixed(1) : Math.round(sec)} s`;
  const m = Math.floor(sec / 60);
  const s = Math.round(sec % 60);
  if (m < 60) return s ? `${m} min ${s} s` : `${m} min`;
  const hrs = Math.floor(m / 60);
  return `${hrs} h ${m % 60} min`;
}

/** Seconds as an axis label: 0:30, 12:05, 1:02:03. */
export function clock(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (x: number) => String(x).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

/** The last two path components: enough to recognise a file, short enough for a table. */
export function shortFile(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts.length <= 2 ? file : `…/${parts.slice(-2).join("/")}`;
}

export function frameLocation(f: Frame | null, short = false): string {
  if (!f) return "(unknown site)";
  if (isNoPythonFrame(f)) return NO_PYTHON_FRAME;
  return `${short ? shortFile(f.file) : f.file}:${f.line}`;
}

export function frameText(f: Frame | null): string {
  if (!f) return "(unknown site)";
  if (isNoPythonFrame(f)) return NO_PYTHON_FRAME;
  return `${f.function} (${f.file}:${f.line})`;
}

export function verdictLabel(v: string): string {
  return v === "leak" ? "Leak found" : v === "no-leak" ? "No leak" : "Inconclusive";
}
