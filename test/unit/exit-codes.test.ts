// The one rule for leakhound's exit code, shared by `run` and `report`.
import { describe, expect, it } from "vitest";
import { decideExitCode, diedOfLeakhoundStop, type TargetEnd } from "../../src/cli/exit-codes.js";

const end = (exitCode: number | null, signal: string | null, stoppedBy: TargetEnd["stoppedBy"] = null): TargetEnd => ({ exitCode, signal, stoppedBy });
const decide = (target: TargetEnd | null, verdict: "leak" | "no-leak" | "inconclusive", failOnLeak = true, leakExitCode = 3) =>
  decideExitCode({ target, verdict, failOnLeak, leakExitCode });

describe("decideExitCode", () => {
  it("stopped by leakhound and died of it: the verdict decides", () => {
    for (const t of [end(null, "SIGINT", "leakhound"), end(null, "SIGTERM", "leakhound"), end(null, "SIGKILL", "leakhound"), end(130, null, "leakhound"), end(143, null, "leakhound")]) {
      expect(diedOfLeakhoundStop(t)).toBe(true);
      expect(decide(t, "leak")).toBe(3);
      expect(decide(t, "leak", true, 42)).toBe(42);
      expect(decide(t, "no-leak")).toBe(0);
      expect(decide(t, "inconclusive")).toBe(0);
      expect(decide(t, "leak", false)).toBe(0);
    }
  });

  it("stopped by leakhound but exiting with a code of its own: that code", () => {
    expect(decide(end(1, null, "leakhound"), "leak")).toBe(1);
    expect(decide(end(0, null, "leakhound"), "leak")).toBe(3);
    expect(decide(end(null, "SIGSEGV", "leakhound"), "leak")).toBe(139);
  });

  it("a target that ended by itself keeps its code; exit 0 and a leak gives the leak code", () => {
    expect(decide(end(null, "SIGINT"), "leak")).toBe(130); // the user's Ctrl-C
    expect(decide(end(3, null), "leak", true, 42)).toBe(3);
    expect(decide(end(5, null), "no-leak")).toBe(5);
    expect(decide(end(0, null), "leak")).toBe(3);
    expect(decide(end(0, null), "leak", false)).toBe(0);
    expect(decide(end(0, null), "inconclusive")).toBe(0);
  });

  it("report (no target): the verdict alone", () => {
    expect(decide(null, "leak")).toBe(3);
    expect(decide(null, "leak", true, 9)).toBe(9);
    expect(decide(null, "leak", false)).toBe(0);
    expect(decide(null, "no-leak")).toBe(0);
  });
});
