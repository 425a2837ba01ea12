// The one-line terminal status: elapsed, RSS, heap, growth rate, top growing site.
import { describe, expect, it, vi } from "vitest";
import { Writable } from "node:stream";
import { LiveStatus } from "../../src/host/live-status.js";
import type { SampleMessage } from "../../src/protocol/messages.js";

function sample(seq: number, heap: number, sites: [number, number, number][]): SampleMessage {
  return { type: "sample", seq, t: seq, rss: 50 * 1048576, heap, overhead: 0, gcEnabled: true, sites, otherBytes: 0, otherCount: 0, active: [], cost: 0 };
}

describe("live status line", () => {
  it("shows RSS, heap, rate and the top growing site on one rewritten line", () => {
    vi.useFakeTimers();
    let text = "";
    const out = new Writable({ write: (chunk, _enc, cb) => ((text += String(chunk)), cb()) }) as unknown as NodeJS.WriteStream;
    (out as { columns?: number }).columns = 200;
    const status = new LiveStatus(out);
    status.start();
    status.stacks(7, [{ id: 1, frames: [{ file: "/srv/app/cache.py", line: 42, function: "remember" }] }]);
    status.sample(7, sample(0, 10 * 1048576, [[1, 1048576, 10]]));
    status.sample(7, sample(2, 14 * 1048576, [[1, 5 * 1048576, 50]]));
    vi.advanceTimersByTime(1100);
    status.stop();
    vi.useRealTimers();
    const line = text.split("\r\x1b[K").filter(Boolean)[0]!;
    expect(line).toMatch(/RSS 50\.0 MiB/);
    expect(line).toMatch(/heap 14\.0 MiB/);
    expect(line).toMatch(/\+2\.0 MiB\/s/);
    expect(line).toMatch(/top: cache\.py:42 remember \+4\.0 MiB/);
    expect(line).not.toContain("\n");
    expect(text.endsWith("\r\x1b[K")).toBe(true); // cleared when done
  });
});
