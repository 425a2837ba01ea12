// Site series as change points: the recorder's live model and the capture reader
// both keep each site's figures this way, and hand the analysis dense series one
// stack at a time (SiteSeries.fill) or when asked for.
import type { SiteTuple } from "../protocol/messages.js";
import type { SiteSeries } from "./model.js";

/**
 * One site's figures as change points: (sample index, bytes, count) appended only
 * when a value changes, in arrays that grow by doubling. A site that holds still
 * for an hour costs one point, not 7,200.
 */
class Changes {
  index = new Uint32Array(4);
  bytes = new Float64Array(4);
  count = new Float64Array(4);
  /** The part of bytes whose objects died onto CPython's free lists (sampling collector). */
  free = new Float64Array(4);
  /** FREE_LIST bits seen so far. */
  kinds = 0;
  length = 0;

  push(at: number, bytes: number, count: number, free: number, kinds: number): void {
    this.kinds |= kinds;
    const n = this.length;
    if (n > 0 && this.bytes[n - 1] === bytes && this.count[n - 1] === count && this.free[n - 1] === free) return;
    if (n === this.index.length) {
      const grow = <T extends Uint32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(n * 2);
        b.set(a);
        return b;
      };
      this.index = grow(this.index);
      this.bytes = grow(this.bytes);
      this.count = grow(this.count);
      this.free = grow(this.free);
    }
    if (n > 0 && this.index[n - 1] === at) {
      // A second report of the same sample: the later figure stands.
      this.bytes[n - 1] = bytes;
      this.count[n - 1] = count;
      this.free[n - 1] = free;
      return;
    }
    this.index[n] = at;
    this.bytes[n] = bytes;
    this.count[n] = count;
    this.free[n] = free;
    this.length = n + 1;
  }

  /**
   * The series of the first `n` samples as the analysis reads it (NaN before the
   * first report, then the last reported value), made when asked for: a snapshot
   * keeps the arrays and length of its moment, which later pushes never change.
   */
  series(stackId: number, n: number): SiteSeries {
    const { index, bytes, count, free, kinds, length } = this;
    const write = (values: Float64Array, out: Float64Array, before = Number.NaN) => {
      out.fill(before, 0, n);
      for (let k = 0; k < length && index[k]! < n; k++) {
        const end = k + 1 < length ? Math.min(n, index[k + 1]!) : n;
        out.fill(values[k]!, index[k]!, end);
      }
      return out;
    };
    let last = 0;
    for (let k = 0; k < length && index[k]! < n; k++) last = count[k]!;
    const series: SiteSeries = {
      stackId,
      lastCount: last,
      get bytes() {
        return write(bytes, new Float64Array(n));
      },
      get count() {
        return write(count, new Float64Array(n));
      },
      fill(b: Float64Array, c: Float64Array) {
        write(bytes, b);
        write(count, c);
      },
    };
    // As the file reader gives them: only for sites that had some, 0 before the site's first report.
    if (kinds) {
      Object.defineProperty(series, "freeListBytes", { enumerable: true, get: () => write(free, new Float64Array(n), 0) });
      series.freeListKinds = kinds;
    }
    return series;
  }
}

/** The series of one kind (Python or native sites) of one process. */
export class Columns {
  private sites = new Map<number, Changes>();

  apply(index: number, tuples: readonly SiteTuple[]): void {
    for (const [id, bytes, count, free = 0, kinds = 0] of tuples) {
      let c = this.sites.get(id);
      if (!c) this.sites.set(id, (c = new Changes()));
      c.push(index, Math.max(0, Math.round(bytes)), Math.max(0, Math.round(count)), Math.max(0, Math.round(free)), kinds);
    }
  }

  /** Series of the first `n` samples. */
  view(n: number): Map<number, SiteSeries> {
    const out = new Map<number, SiteSeries>();
    for (const [id, c] of this.sites) out.set(id, c.series(id, n));
    return out;
  }

  /** Change points held (for the memory benchmark). */
  points(): number {
    let n = 0;
    for (const c of this.sites.values()) n += c.length;
    return n;
  }
}
