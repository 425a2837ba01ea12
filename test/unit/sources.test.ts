// Source lines kept in a capture: the leak's lines first, other sites' lines where they fit.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readSnippets } from "../../src/capture/sources.js";
import { tempDir } from "../helpers/cli.js";

describe("readSnippets", () => {
  it("keeps the first frame's lines when a file's lines span more than a snippet holds", () => {
    const file = path.join(tempDir("lh-src-"), "big.py");
    fs.writeFileSync(file, Array.from({ length: 1000 }, (_, i) => `line_${i + 1} = ${i + 1}`).join("\n"));
    const [s] = readSnippets([
      { file, line: 900, function: "leak" },
      { file, line: 5, function: "far" },
      { file, line: 880, function: "near" },
    ]);
    const lineText = (n: number) => (n >= s.start && n < s.start + s.lines.length ? s.lines[n - s.start] : null);
    expect(lineText(900)).toBe("line_900 = 900");
    expect(lineText(880)).toBe("line_880 = 880");
    expect(lineText(5)).toBeNull();
  });
});
