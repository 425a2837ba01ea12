// Which retainer answer speaks for a stack, and how the report says when it was taken.
import { describe, expect, it } from "vitest";
import { explainedAt, explainedStacks } from "../../src/analysis/explanations.js";
import { emptyProcess, type ProcessCapture } from "../../src/capture/model.js";
import type { RetainerResult } from "../../src/protocol/messages.js";
import { exitSearch } from "../helpers/synthetic.js";

const path = (root: string) => ({ rootKind: "module global", root, steps: ["_CACHE (dict, 3 items)"], objects: 3, bytes: 300 });
const found = (stackId: number, root = "module app"): RetainerResult => ({ stackId, found: 3, sampled: 3, unreachable: false, paths: [path(root)] });
const empty = (stackId: number): RetainerResult => ({ stackId, found: 0, sampled: 0, unreachable: false, paths: [] });

function proc(extra: Partial<ProcessCapture>): ProcessCapture {
  const p = emptyProcess(7);
  p.samples = [0, 10, 20, 30, 40].map((t, seq) => ({ seq, t, rss: 0, heap: 0, overhead: 0, gcEnabled: true, otherBytes: 0, cost: 0 }));
  return { ...p, ...extra };
}

describe("explained stacks", () => {
  it("no search: not-run; searches with no results: empty", () => {
    expect(explainedStacks(proc({})).search).toBe("not-run");
    expect(explainedStacks(proc({ explanations: [exitSearch([])] })).search).toBe("empty");
  });

  it("the latest answer that found something wins; a later empty one does not erase it", () => {
    const p = proc({
      explanations: [
        exitSearch([found(1, "module old")], { reason: "live", t: 10 }),
        exitSearch([found(1, "module newer"), found(2)], { reason: "live", t: 20 }),
        exitSearch([empty(1), empty(3)], { reason: "exit", t: 40 }),
      ],
    });
    const { byId, search } = explainedStacks(p);
    expect(search).toBe("ran");
    expect(byId.get(1)!.result.paths[0]!.root).toBe("module newer");
    expect(byId.get(1)!.explanation.t).toBe(20);
    expect(byId.get(2)!.explanation.t).toBe(20);
    expect(byId.get(3)!.result.found).toBe(0);
  });

  it("garbage awaiting collection at shutdown does not replace the paths found while it ran", () => {
    // asyncio.run cancels the tasks that held the objects before the shutdown search: they are cycles then.
    const garbage: RetainerResult = {
      stackId: 1, found: 3, sampled: 3, unreachable: true, note: "unreachable cycle awaiting collection",
      paths: [{ rootKind: "unreachable cycle", root: "Conn in an unreachable reference cycle", steps: [], objects: 3, bytes: 300 }],
    };
    const orphans: RetainerResult = { ...garbage, note: "nothing refers to them: refcount 1 each", paths: [{ ...garbage.paths[0]!, root: "set that no Python object refers to" }] };
    const kept: RetainerResult = { ...garbage, stackId: 3, note: "unreachable reference cycle kept only because gc is disabled" };
    const p = proc({
      explanations: [
        exitSearch([found(1, "module app"), found(3, "module app")], { reason: "live", t: 10 }),
        exitSearch([orphans, { ...garbage, stackId: 2 }], { reason: "shutdown", t: 30 }),
        exitSearch([garbage, kept], { reason: "exit", t: 40 }),
      ],
    });
    const { byId } = explainedStacks(p);
    expect(byId.get(1)!.result.paths[0]!.root).toBe("module app");
    // With nothing found before, the garbage is the answer.
    expect(byId.get(2)!.result.unreachable).toBe(true);
    // Cycles only a disabled gc keeps are the leak itself: they do replace it.
    expect(byId.get(3)!.result.note).toMatch(/gc is disabled/);
  });

  it("says when, and how the process ended", () => {
    const live = exitSearch([found(1)], { reason: "live", t: 21.4 });
    const killed = proc({ explanations: [live], signal: "SIGKILL" });
    const at = explainedAt(killed, explainedStacks(killed).byId.get(1));
    expect(at).toEqual({ reason: "live", t: 21.4, beforeEndSec: 40 - 21.4, text: "explained at 00:21 while it ran, 19 s before the process was killed" });
    const exited = proc({ explanations: [exitSearch([found(1)], { reason: "request", t: 39.5 })], exited: true });
    expect(explainedAt(exited, explainedStacks(exited).byId.get(1))!.text).toBe(
      "explained at 00:39 on request, while it ran, moments before it exited",
    );
    // The exit search describes the very end: nothing to add.
    const atExit = proc({ explanations: [exitSearch([found(1)], { t: 40 })] });
    expect(explainedAt(atExit, explainedStacks(atExit).byId.get(1))).toBeNull();
  });
});
