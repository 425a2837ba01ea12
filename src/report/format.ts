// Number and frame formatting shared by every text output.
import path from "node:path";
import type { Frame } from "../protocol/messages.js";
import { byteDigits, scaleBytes } from "./units.js";

/** 1536 → "1.5 KB" (powers of 1024, as memory tools print). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  const { value, unit } = scaleBytes(n);
  return `${n < 0 ? "-" : ""}${value.toFixed(byteDigits(value, unit))} ${unit}`;
}

export function formatRate(bytesPerSec: number): string {
  return `${bytesPerSec >= 0 ? "+" : ""}${formatBytes(bytesPerSec)}/s`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function shortFrame(f: Frame): string {
  return `${path.basename(f.file)}:${f.line} ${f.function}`;
}

export function longFrame(f: Frame, cwd?: string): string {
  let file = f.file;
  if (cwd && file.startsWith(cwd + path.sep)) file = path.relative(cwd, file);
  return `${file}:${f.line} in ${f.function}`;
}
