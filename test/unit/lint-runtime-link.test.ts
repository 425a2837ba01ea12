// A lint finding about a mutable default argument is linked to the leak whose reference path
// starts at that default, named by its parameter: `normalise(_memo={...}) (dict, ...)`.
import { describe, expect, it } from "vitest";
import { linkFindings } from "../../src/lint/runtime-link.js";
import type { LintFinding } from "../../src/lint/model.js";
import { leakReport } from "../fixtures/reports/generate.js";

function finding(container: string): LintFinding {
  return {
    rule: "mutable-default-growth",
    file: "/srv/shop/text.py",
    line: 3,
    column: 1,
    endLine: 3,
    endColumn: null,
    message: "a mutable default argument grows",
    fix: "use None and a module-level cache with a bound",
    container,
    confidence: "high",
  };
}

describe("lint findings linked through a default argument's path step", () => {
  const report = leakReport();
  const leak = report.leaks[0];
  leak.retainers = [
    {
      root: "module text",
      rootKind: "module global",
      path: ["normalise(_memo={...}) (dict, 300 items)", "[*] (str)"],
      text: "module text → normalise(_memo={...}) (dict, 300 items) → [*] (str)",
      objects: 300,
      bytes: 30_000,
    },
  ];

  it("matches the parameter's name", () => {
    const [link] = linkFindings([finding("_memo")], report, "/");
    expect(link).toMatchObject({ leaks: [leak.rank], via: "retainer" });
  });

  it("and a keyword-only default after the *", () => {
    leak.retainers[0].path[0] = "normalise(*, _memo={...}) (dict, 300 items)";
    const [link] = linkFindings([finding("_memo")], report, "/");
    expect(link).toMatchObject({ via: "retainer" });
  });

  it("not another parameter or container", () => {
    expect(linkFindings([finding("_seen")], report, "/")).toEqual([null]);
  });
});

describe("a function cache's finding linked through the cache's path step", () => {
  it("matches `render (lru_cache render)` by the function's name", () => {
    const report = leakReport();
    const leak = report.leaks[0];
    leak.retainers = [
      {
        root: "module text",
        rootKind: "module global",
        path: ["render (lru_cache render)", "cache (dict, 14,495 items)", "[*] (str)"],
        text: "module text → render (lru_cache render) → cache (dict, 14,495 items) → [*] (str)",
        objects: 14_495,
        bytes: 1_449_500,
      },
    ];
    const [link] = linkFindings([{ ...finding("render"), rule: "function-cache" }], report, "/");
    expect(link).toMatchObject({ leaks: [leak.rank], via: "retainer" });
    expect(linkFindings([{ ...finding("rendered"), rule: "function-cache" }], report, "/")[0]).toBeNull();
  });
});
