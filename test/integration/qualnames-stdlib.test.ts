// The host's source-based qualified names (used for CPython < 3.11 frames) against CPython
// 3.11+'s own co_qualname, for every function and class body of a real stdlib.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { SourceNames } from "../../src/host/qualnames.js";
import { findPythons } from "../helpers/pythons.js";

const PROBE = path.resolve(__dirname, "../fixtures/qualnames/stdlib_functions.py");
const modern = findPythons().filter((p) => Number(p.version.split(".")[1]) >= 11);

describe.runIf(modern.length > 0)("source-based qualified names", () => {
  it("match co_qualname for nearly every function of the stdlib, and are never a wrong qualification", () => {
    const r = spawnSync(modern[0].path, [PROBE], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    expect(r.status, r.stderr).toBe(0);
    const rows: [string, number, string, string][] = JSON.parse(r.stdout);
    expect(rows.length).toBeGreaterThan(5000);
    const names = new SourceNames();
    let exact = 0;
    const wrong: string[] = [];
    for (const [file, line, name, truth] of rows) {
      const [got] = names.frames([{ file, line, function: name, qualify: true }]);
      if (got.function === truth) exact++;
      else if (got.function !== name) wrong.push(`${file}:${line} ${got.function} (truth ${truth})`);
    }
    // A miss keeps the bare name; a different qualification would mislead.
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(exact / rows.length).toBeGreaterThan(0.99); // 7758 of 7758 on 3.11.7
  });
});
