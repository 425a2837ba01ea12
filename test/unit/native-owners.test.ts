// A native leak's owner fields (analysis/owners.ts) from the agent's answers for native stacks,
// kept apart from the Python answers of the same stack id, and their words (report/units.ts).
import { describe, expect, it } from "vitest";
import { explainedStacks } from "../../src/analysis/explanations.js";
import { NO_OWNER, nativeOwnerFields } from "../../src/analysis/owners.js";
import { emptyProcess, type ProcessCapture } from "../../src/capture/model.js";
import type { RetainerResult } from "../../src/protocol/messages.js";
import { ownerFigures, ownerLine, reachedWords } from "../../src/report/units.js";
import { exitSearch } from "../helpers/synthetic.js";

const listPath = {
  rootKind: "module global",
  root: "module __main__",
  steps: ["_DEBUG_BATCHES (list, 940 items)", "[*] (ndarray)"],
  objects: 200,
  bytes: 26_000_000,
  estObjects: 940,
  estBytes: 123_731_968,
  errObjects: 9,
  errBytes: 1_100_000,
  exact: false,
};
const owned: RetainerResult = {
  stackId: 5,
  found: 410,
  sampled: 200,
  unreachable: false,
  paths: [listPath],
  native: true,
  ownedBy: "pointer",
  owners: [{ type: "ndarray", desc: "ndarray 64×256 float64", objects: 940, bytes: 123_731_968 }],
  reached: 1,
};
const pythonAnswer: RetainerResult = { stackId: 5, found: 3, sampled: 3, unreachable: false, paths: [] };

function proc(results: RetainerResult[]): ProcessCapture {
  const p = emptyProcess(7);
  p.samples = [0, 10, 20].map((t, seq) => ({ seq, t, rss: 0, heap: 0, overhead: 0, gcEnabled: true, otherBytes: 0, cost: 0 }));
  p.explanations = results.length ? [exitSearch(results, { t: 20 })] : [];
  return p;
}

const member = { stackId: 5, liveBytes: 120_000_000, liveCount: 940 };

describe("native leaks with a Python owner", () => {
  it("an answer for a native stack is kept apart from the Python answer of the same stack id", () => {
    const { byId, byNativeId } = explainedStacks(proc([pythonAnswer, owned]));
    expect(byId.get(5)!.result).toBe(pythonAnswer);
    expect(byNativeId.get(5)!.result).toBe(owned);
  });

  it("owners by pointer: their types, and the paths to them with the native bytes they hold", () => {
    const f = nativeOwnerFields(proc([owned]), member);
    expect(f.owner).toEqual({ by: "pointer", types: owned.owners, reached: 1 });
    expect(f.retainerNote).toBeUndefined();
    expect(f.retainers[0]!.text).toBe("module __main__ → _DEBUG_BATCHES (list, 940 items) → [*] (ndarray)");
    expect(ownerFigures(f.retainers[0]!, f.owner!)).toBe(
      "× ~940 ndarray 64×256 float64 ±9 holding 118 MiB ±1.0 MiB native memory",
    );
    expect(ownerLine(f.owner!)).toBe("owned by ~940 ndarray 64×256 float64 holding 118 MiB of native memory");
  });

  it("owners by stack: the note says so, and no types are claimed", () => {
    const byStack: RetainerResult = {
      ...owned,
      ownedBy: "stack",
      owners: undefined,
      reached: undefined,
      note: "no visited object points to these blocks: …",
      paths: [{ ...listPath, steps: ["_DEBUG_BATCHES (list, 940 items)", "[*] (Connection)"], estObjects: undefined, estBytes: undefined }],
    };
    const f = nativeOwnerFields(proc([byStack]), member);
    expect(f.owner).toEqual({ by: "stack", types: [] });
    expect(f.retainerNote).toBe(byStack.note);
    expect(ownerFigures(f.retainers[0]!, f.owner!)).toMatch(/native memory, owned by the objects made at this line on this path$/);
  });

  it("no owner: native, no Python object owns it; not searched: says why", () => {
    const none: RetainerResult = { stackId: 5, found: 0, sampled: 0, unreachable: false, paths: [], native: true, note: NO_OWNER };
    expect(nativeOwnerFields(proc([none]), member)).toEqual({ retainers: [], unreachable: false, retainerNote: NO_OWNER });
    expect(nativeOwnerFields(proc([]), member).retainerNote).toMatch(/not searched: the program did not reach a normal exit/);
    // It exited in order, yet nothing was searched: its cleanup had freed the memory before the exit's search.
    const exited = { ...proc([]), exited: true };
    expect(nativeOwnerFields(exited, member).retainerNote).toMatch(/not searched: when the program began to exit, its cleanup had already freed this memory/);
    expect(nativeOwnerFields(proc([pythonAnswer]), member).retainerNote).toMatch(/only for the top native leak candidates/);
  });

  it("owners whose pointers reach little of the stack's memory say so", () => {
    expect(reachedWords(0.95)).toBe("");
    expect(reachedWords(0.004)).toMatch(/^ \(their pointers reach under 1% of this stack's native memory/);
    expect(reachedWords(0.42)).toMatch(/reach 42%/);
  });
});
