// Byte units shared by the terminal report and the HTML app: powers of 1024
// written KB/MB/GB, so the figures read the same everywhere. No imports: the
// web bundle uses this file too.
export const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB"] as const;

/** |n| scaled to its unit: 1536 → { value: 1.5, unit: "KB" }. */
export function scaleBytes(n: number): { value: number; unit: (typeof BYTE_UNITS)[number] } {
  let value = Math.abs(n);
  let u = 0;
  while (value >= 1024 && u < BYTE_UNITS.length - 1) {
    value /= 1024;
    u++;
  }
  return { value, unit: BYTE_UNITS[u]! };
}

/** Digits worth printing: none for bytes or three-digit values, one otherwise. */
export function byteDigits(value: number, unit: string): number {
  return unit === "B" || value >= 100 ? 0 : 1;
}
