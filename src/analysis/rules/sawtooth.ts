// Sawtooth: a buffer that fills and is flushed (batches, periodic cache clears) rises
// and falls back to the same floor; that is not a leak, even when the run ends in the
// middle of a rise. A floor that climbs from cycle to cycle is one.
import { formatBytes, formatRate, formatSec } from "../format.js";
import { theilSen } from "../stats/slope.js";
import { THRESHOLDS } from "../thresholds.js";
import { stoppedAtEnd } from "./plateau.js";
import { PASS, leak, notLeak, type SeriesRule } from "./rule.js";

const T = THRESHOLDS;

export const sawtooth: SeriesRule = {
  name: "sawtooth",
  judge(f) {
    const c = f.cycles;
    if (f.negligible || !c) return PASS;
    const m = c.troughX.length; // cycles, the unfinished last one included
    const drops = c.drops;
    // Troughs are sampled up to one sample's rise after the flush, so they scatter by that much.
    const tol = Math.max(f.tolerance, T.troughStepFactor * f.riseStep);
    let floor = Infinity;
    let prevPeak = -Infinity;
    for (let i = 0; i < m - 1; i++) {
      if (c.troughX[i] < floor) floor = c.troughX[i];
      if (c.peakX[i] > prevPeak) prevPeak = c.peakX[i];
    }
    const span = c.troughT[m - 1] - c.troughT[0];
    const troughRise =
      m >= 3 ? Math.max(0, theilSen(c.troughT, c.troughX, m) * span) : c.troughX[m - 1] - c.troughX[0];
    const amplitude = prevPeak - floor;
    const finalPeak = c.peakX[m - 1];
    const every = c.periodSec > 0 ? ` (about every ${formatSec(c.periodSec)})` : "";
    const times = drops === 1 ? "once" : `${drops} times`;
    if (troughRise <= tol && finalPeak <= prevPeak + Math.max(tol, T.peakOvershoot * amplitude)) {
      if (drops === 1 && finalPeak - c.troughX[m - 1] <= tol) {
        return notLeak(
          `rose by ${formatBytes(amplitude)} once and fell back to ${formatBytes(Math.max(0, c.troughX[m - 1]))} ` +
            `(a burst that was freed)`,
          0.7,
        );
      }
      return notLeak(
        `rose by up to ${formatBytes(amplitude)} and fell back ${times}${every}; its floor stayed at ` +
          `${formatBytes(Math.max(0, floor))} (a buffer or batch that is flushed)`,
        0.5 + 0.15 * Math.min(drops, 3),
      );
    }
    let up = 0;
    for (let i = 1; i < m; i++) if (c.troughX[i] > c.troughX[i - 1]) up++;
    // The floor must still be rising in the second half (a filling cache's troughs rise, then stop).
    const middle = (f.t0 + f.t1) / 2;
    let earlyHigh = -Infinity;
    // (The first cycle is cut by the window's start, so its least value need not be a trough.)
    for (let i = 1; i < m; i++) if (c.troughT[i] < middle && c.troughX[i] > earlyHigh) earlyHigh = c.troughX[i];
    if (earlyHigh === -Infinity) earlyHigh = c.troughX[0];
    const lateRise = c.troughX[m - 1] - earlyHigh;
    if (
      m >= 3 &&
      troughRise > tol &&
      troughRise >= f.minGrowth &&
      up >= 0.6 * (m - 1) &&
      lateRise >= 0.25 * troughRise &&
      !stoppedAtEnd(f)
    ) {
      return leak(
        `rises and falls back${every}, but its floor rose in ${up} of ${m - 1} cycles, ` +
          `${formatRate(troughRise / Math.max(span, 1e-9))}`,
        0.55 + 0.1 * Math.min(m - 2, 3),
      );
    }
    return PASS;
  },
};
