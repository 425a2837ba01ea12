// Start, end, peak and robust rate of a process-wide memory series (RSS, heap).
import type { MemoryFigures } from "../report/model.js";
import type { SeriesFeatures } from "./stats/features.js";

export function memoryFigures(values: ArrayLike<number>, f: SeriesFeatures | null): MemoryFigures {
  const n = values.length;
  if (n === 0) return { start: 0, end: 0, peak: 0, ratePerSec: 0 };
  let peak = -Infinity;
  for (let i = 0; i < n; i++) if (values[i] > peak) peak = values[i];
  return { start: values[0], end: values[n - 1], peak, ratePerSec: f ? f.slope : 0 };
}
