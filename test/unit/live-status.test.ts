// The one-line terminal status: elapsed, RSS, heap, growth rate, top growing site,
// drawn on the terminal's reserved last row (outside the scroll region).
import { describe, expect, it, vi } from "vitest";
import { EventEmitter } from "node:events";
import { LiveStatus } from "../../src/host/live-status.js";
import type { SampleMessage } from "../../src/protocol/messages.js";

function sample(seq: number, heap: number, sites: [number, number, number][]): SampleMessage {
  return { type: "sample", seq, t: seq, rss: 50 * 1048576, heap, overhead: 0, gcEnabled: true, sites, otherBytes: 0, otherCount: 0, active: [], cost: 0 };
}

/** A fake terminal: records every write() as one chunk. */
function terminal(rows: number, columns = 200) {
  const writes: string[] = [];
  const out = Object.assign(new EventEmitter(), {
    isTTY: true,
    rows,
    columns,
    write: (chunk: string) => (writes.push(String(chunk)), true),
  }) as unknown as NodeJS.WriteStream & { rows: number };
  return { out, writes };
}

const DRAW = /^\x1b7\x1b\[(\d+);1H\x1b\[2K([^\x1b]*)\x1b8$/;

describe("live status line", () => {
  it("shows RSS, heap, rate and the top growing site on the reserved last row, one write per draw", () => {
    vi.useFakeTimers();
    const { out, writes } = terminal(24);
    const status = new LiveStatus(out);
    status.start();
    expect(writes[0]).toBe("\n\x1b7\x1b[1;23r\x1b8\x1b[1A"); // room made, all rows but the last scroll
    status.stacks(7, [{ id: 1, frames: [{ file: "/srv/app/cache.py", line: 42, function: "remember" }] }]);
    status.sample(7, sample(0, 10 * 1048576, [[1, 1048576, 10]]));
    status.sample(7, sample(2, 14 * 1048576, [[1, 5 * 1048576, 50]]));
    vi.advanceTimersByTime(1100);
    status.stop();
    vi.useRealTimers();
    const draw = DRAW.exec(writes[1]!);
    expect(draw).not.toBeNull();
    expect(draw![1]).toBe("24");
    const line = draw![2]!;
    expect(line).toMatch(/RSS 50\.0 MiB/);
    expect(line).toMatch(/heap 14\.0 MiB/);
    expect(line).toMatch(/\+2\.0 MiB\/s/);
    expect(line).toMatch(/top: cache\.py:42 remember \+4\.0 MiB/);
    expect(line).not.toMatch(/[\r\n]/);
    // Stop: the whole screen scrolls again and the status row is cleared; the cursor is where the target left it.
    expect(writes[writes.length - 1]).toBe("\x1b7\x1b[r\x1b[24;1H\x1b[2K\x1b8");
    status.stop(); // idempotent
    expect(writes.length).toBe(3);
  });

  it("re-reserves the last row when the terminal is resized", () => {
    const { out, writes } = terminal(24);
    const status = new LiveStatus(out);
    status.start();
    out.rows = 40;
    out.emit("resize");
    expect(writes[1]).toBe("\x1b7\x1b[1;39r\x1b8");
    expect(DRAW.exec(writes[2]!)?.[1]).toBe("40");
    status.stop();
    expect(writes[writes.length - 1]).toBe("\x1b7\x1b[r\x1b[40;1H\x1b[2K\x1b8");
    expect(out.listenerCount("resize")).toBe(0);
  });

  it("gives the terminal back at process exit when stop() was never reached", () => {
    const { out, writes } = terminal(24);
    const status = new LiveStatus(out);
    const before = process.listenerCount("exit");
    status.start();
    expect(process.listenerCount("exit")).toBe(before + 1);
    process.emit("exit", 0);
    expect(writes[writes.length - 1]).toBe("\x1b7\x1b[r\x1b[24;1H\x1b[2K\x1b8");
    expect(process.listenerCount("exit")).toBe(before);
  });

  it("draws nothing on a terminal too small to reserve a row, and is cut to the width", () => {
    const tiny = terminal(2);
    const a = new LiveStatus(tiny.out);
    a.start();
    a.stop();
    expect(tiny.writes).toEqual([]);
    expect(LiveStatus.usable(tiny.out)).toBe(false);

    const narrow = terminal(24, 30);
    const b = new LiveStatus(narrow.out);
    b.stacks(1, [{ id: 1, frames: [{ file: "/x/evil\x1b[2Jname.py", line: 1, function: "f" }] }]);
    b.sample(1, sample(0, 1, [[1, 1, 1]]));
    b.sample(1, sample(1, 2, [[1, 1048576, 1]]));
    expect(b.line().length).toBeLessThanOrEqual(29);
    const wide = terminal(24, 300);
    const c = new LiveStatus(wide.out);
    c.stacks(1, [{ id: 1, frames: [{ file: "/x/evil\x1b[2Jname.py", line: 1, function: "f" }] }]);
    c.sample(1, sample(0, 1, [[1, 1, 1]]));
    c.sample(1, sample(1, 2, [[1, 1048576, 1]]));
    expect(c.line()).not.toContain("\x1b");
  });
});
