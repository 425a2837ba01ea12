// Names from the target (code object names, attribute names, dict keys) must never
// act on the terminal: not when `leakhound run` prints its report, not when
// `leakhound report` replays the capture.
import { describe, expect, it } from "vitest";
import path from "node:path";
import { runCli, runLeakhound } from "../helpers/cli.js";

// Anything a terminal acts on: C0 controls but the newline, DEL, C1, bidi overrides.
const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

function checkText(text: string): void {
  expect(text).not.toMatch(UNSAFE);
  for (const line of text.split("\n")) expect(line.startsWith("FAKE")).toBe(false);
}

describe("hostile names from the target", () => {
  it("are printed escaped by run and by report", async () => {
    const r = await runLeakhound(["python3", "hostile_names.py"], [], { env: { LEAK_SECONDS: "6" } });
    expect(r.report.verdict).toBe("leak");
    // The JSON keeps the real names (it is data, not terminal text).
    expect(JSON.stringify(r.report)).toContain("\\u001b[2J");
    checkText(r.stderr);
    expect(r.stderr).toContain("\\x1b[2J");
    const again = await runCli(["report", path.join(r.dir, "capture.lhdb")]);
    expect(again.code, again.stderr).toBe(0);
    // `report` prints to stdout (nothing else is written there).
    checkText(again.stdout);
    expect(again.stdout).toContain("\\x1b[2J");
  });
});
