// Numbers in the words of the report: decimal units (1 MB = 1,000,000 bytes), two
// significant digits, signed rates.
import type { Frame } from "../protocol/messages.js";

const UNITS = ["B", "KB", "MB", "GB", "TB"];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "? B";
  const sign = bytes < 0 ? "-" : "";
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 999.5 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  const digits = u === 0 || v >= 100 ? 0 : v >= 10 ? 0 : 1;
  return `${sign}${v.toFixed(digits)} ${UNITS[u]}`;
}

/** "+2.1 MB/s" */
export function formatRate(bytesPerSec: number): string {
  return `${bytesPerSec >= 0 ? "+" : ""}${formatBytes(bytesPerSec)}/s`;
}

/** "+2.1 MB" */
export function formatGrowth(bytes: number): string {
  return `${bytes >= 0 ? "+" : ""}${formatBytes(bytes)}`;
}

export function formatSec(sec: number): string {
  if (!Number.isFinite(sec)) return "? s";
  if (sec < 60) return `${sec < 10 ? sec.toFixed(1) : sec.toFixed(0)} s`;
  if (sec < 3600) return `${(sec / 60).toFixed(sec < 600 ? 1 : 0)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

/** "main.py:12 (handle)" with the file's base name. */
export function frameLabel(frame: Frame | null): string {
  if (!frame) return "an unknown site";
  const base = frame.file.split(/[\\/]/).pop() || frame.file;
  return `${base}:${frame.line} (${frame.function})`;
}
