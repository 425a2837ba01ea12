// A process's thread count over the run (the kernel's count, from each sample): start, end, peak,
// rate, and whether threads pile up. A program that starts threads and never ends them (a
// ThreadPoolExecutor per request never shut down, a Thread per task never joined, a C library's
// worker per connection) grows in memory by each thread's own state and stack, much of it in C
// with no Python frame on the allocating thread: the count says what that memory is.
import type { ThreadFigures } from "../report/model.js";
import type { SamplePoint } from "../capture/model.js";

/** Threads added after the warm-up below which a rising count is not called piling up. */
const MIN_ADDED = 8;
/** Share of the samples after the warm-up, at the end, that must still reach a new high. */
const LAST_SHARE = 1 / 3;
/** The last count must stay this close to the peak (threads that all ended are no pile). */
const END_OF_PEAK = 0.8;

/**
 * The figures, or undefined when the agent sent no thread counts (an older agent, no /proc).
 * `growing`: after the warm-up the count rose by at least MIN_ADDED, reached new highs in the last
 * third of the run and ended near its peak; a pool that fills up and stays full is not growing.
 */
export function threadFigures(samples: readonly SamplePoint[], warmupSec: number): ThreadFigures | undefined {
  const points = samples.filter((s) => typeof s.threads === "number") as (SamplePoint & { threads: number })[];
  if (points.length === 0) return undefined;
  let peak = 0;
  for (const p of points) peak = Math.max(peak, p.threads);
  const start = points[0].threads;
  const end = points[points.length - 1].threads;
  const after = points.filter((p) => p.t >= warmupSec);
  const window = after.length >= 3 ? after : points;
  const ratePerSec = slope(window);
  const split = Math.min(window.length - 1, Math.max(1, Math.floor(window.length * (1 - LAST_SHARE))));
  let earlierHigh = 0;
  for (let i = 0; i < split; i++) earlierHigh = Math.max(earlierHigh, window[i].threads);
  let lateHigh = 0;
  for (let i = split; i < window.length; i++) lateHigh = Math.max(lateHigh, window[i].threads);
  const growing =
    window.length >= 3 &&
    end - window[0].threads >= MIN_ADDED &&
    lateHigh > earlierHigh &&
    end >= END_OF_PEAK * peak &&
    ratePerSec > 0;
  return { start, end, peak, ratePerSec, growing };
}

/** Least-squares threads per second. */
function slope(points: readonly { t: number; threads: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  let st = 0;
  let sv = 0;
  for (const p of points) {
    st += p.t;
    sv += p.threads;
  }
  const mt = st / n;
  const mv = sv / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.threads - mv);
    den += (p.t - mt) ** 2;
  }
  return den > 0 ? num / den : 0;
}
