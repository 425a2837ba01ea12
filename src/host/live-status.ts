// The one-line status on a terminal while the target runs:
// elapsed, RSS, Python heap, growth rate and the top growing site.
import type { Frame, SampleMessage } from "../protocol/messages.js";
import { formatBytes, formatRate, shortFrame } from "../report/format.js";

interface Point {
  t: number;
  heap: number;
  rss: number;
}

export class LiveStatus {
  private timer: NodeJS.Timeout | null = null;
  private started = Date.now();
  private points: Point[] = [];
  private firstSeen = new Map<number, number>();
  private latest = new Map<number, number>();
  private frames = new Map<number, Frame>();
  private pid = 0;
  private shown = false;

  constructor(private out: NodeJS.WriteStream) {}

  start(): void {
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

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.shown) this.out.write("\r\x1b[K");
  }

  private draw(): void {
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
    this.out.write("\r\x1b[K" + line.slice(0, width - 1));
    this.shown = true;
  }
}
