// The one-line status on a terminal while the target runs: elapsed, RSS, Python
// heap, growth rate and the top growing site.
//
// The target shares the terminal and writes to it directly, so leakhound never
// sees (and never touches) its bytes. Instead the status lives on the terminal's
// last row, outside a scroll region that covers every other row (DECSTBM, as apt's
// progress bar does): the target's output scrolls above it and is never glued to
// it. Each redraw is a single write() that saves the cursor, draws on the last row
// and restores the cursor, so it lands between two of the target's writes; the
// region is re-set on a resize and reset (and the row cleared) at stop, on
// leakhound's error paths and at process exit.
import type { Frame, SampleMessage } from "../protocol/messages.js";
import { formatBytes, formatRate, shortFrame } from "../report/format.js";

interface Point {
  t: number;
  heap: number;
  rss: number;
}

/** DEC save / restore cursor (position and attributes). */
export const SAVE_CURSOR = "\x1b7";
export const RESTORE_CURSOR = "\x1b8";
/** DECSTBM: set the scroll region to rows top..bottom (1-based); with no numbers, reset it to the whole screen. */
export const scrollRegion = (top?: number, bottom?: number): string => (top === undefined ? "\x1b[r" : `\x1b[${top};${bottom}r`);
/** Fewer rows than this: no status line (no room to reserve one). */
const MIN_ROWS = 3;

export class LiveStatus {
  private timer: NodeJS.Timeout | null = null;
  private started = Date.now();
  private points: Point[] = [];
  private firstSeen = new Map<number, number>();
  private latest = new Map<number, number>();
  private frames = new Map<number, Frame>();
  private pid = 0;
  /** Rows of the terminal the region was set for; 0 when no row is reserved. */
  private rows = 0;
  private readonly onResize = () => this.resize();
  private readonly onExit = () => this.stop();

  constructor(private out: NodeJS.WriteStream) {}

  /** True when `out` is a terminal that can hold a status row. */
  static usable(out: NodeJS.WriteStream): boolean {
    return Boolean(out.isTTY) && (out.rows ?? 0) >= MIN_ROWS && process.env.TERM !== "dumb";
  }

  start(): void {
    const rows = this.out.rows ?? 0;
    if (rows < MIN_ROWS) return;
    // A newline first, then back up: when the cursor is on the last row, the screen
    // scrolls by one so the cursor ends inside the region, not on the status row.
    this.rows = rows;
    this.out.write(`\n${SAVE_CURSOR}${scrollRegion(1, rows - 1)}${RESTORE_CURSOR}\x1b[1A`);
    this.out.on("resize", this.onResize);
    process.on("exit", this.onExit);
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
  }

  /** Only the first process is shown; children are analysed at the end. */
  sample(pid: number, msg: SampleMessage): void {
    if (this.pid === 0) this.pid = pid;
    if (pid !== this.pid) return;
    this.points.push({ t: msg.t, heap: msg.heap, rss: msg.rss });
    if (this.points.length > 30) this.points.shift();
    for (const [id, bytes] of msg.sites) {
      if (!this.firstSeen.has(id)) this.firstSeen.set(id, bytes);
      this.latest.set(id, bytes);
    }
  }

  stacks(pid: number, stacks: { id: number; frames: Frame[] }[]): void {
    if (this.pid !== 0 && pid !== this.pid) return;
    for (const s of stacks) if (s.frames[0]) this.frames.set(s.id, s.frames[0]);
  }

  /** Resets the scroll region and clears the status row; safe to call more than once. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.rows === 0) return;
    const rows = this.rows;
    this.rows = 0;
    this.out.off("resize", this.onResize);
    process.off("exit", this.onExit);
    this.out.write(`${SAVE_CURSOR}${scrollRegion()}\x1b[${rows};1H\x1b[2K${RESTORE_CURSOR}`);
  }

  private resize(): void {
    if (this.rows === 0) return;
    const rows = this.out.rows ?? 0;
    if (rows < MIN_ROWS) {
      this.stop();
      return;
    }
    this.rows = rows;
    this.out.write(`${SAVE_CURSOR}${scrollRegion(1, rows - 1)}${RESTORE_CURSOR}`);
    this.draw();
  }

  /** The status text (no escape sequences), cut to the terminal's width. */
  line(): string {
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(0);
    const last = this.points[this.points.length - 1];
    let line = `leakhound ${elapsed}s`;
    if (last) {
      const first = this.points[0]!;
      const dt = last.t - first.t;
      const rate = dt > 0 ? (last.heap - first.heap) / dt : 0;
      line += `  RSS ${formatBytes(last.rss)}  heap ${formatBytes(last.heap)}  ${formatRate(rate)}`;
      let best = -1;
      let bestGrowth = 0;
      for (const [id, bytes] of this.latest) {
        const g = bytes - (this.firstSeen.get(id) ?? bytes);
        if (g > bestGrowth) {
          bestGrowth = g;
          best = id;
        }
      }
      const f = this.frames.get(best);
      if (f && bestGrowth > 0) line += `  top: ${shortFrame(f)} +${formatBytes(bestGrowth)}`;
    } else {
      line += "  waiting for Python…";
    }
    const width = this.out.columns || 100;
    // Names from the target arrive escaped (shortFrame), like every other text output's.
    return line.slice(0, Math.max(1, width - 1));
  }

  /** One write: save the cursor, draw on the reserved row, restore the cursor. */
  private draw(): void {
    if (this.rows === 0) return;
    this.out.write(`${SAVE_CURSOR}\x1b[${this.rows};1H\x1b[2K${this.line()}${RESTORE_CURSOR}`);
  }
}
