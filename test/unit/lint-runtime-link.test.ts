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

describe("a once-made object's container linked through its attribute step, wherever the object is held", () => {
  function report(path: string[]) {
    const r = leakReport();
    r.leaks[0].retainers = [
      { root: "thread MainThread (broker.py:13 route)", rootKind: "thread stack", path, text: `thread MainThread (broker.py:13 route) → ${path.join(" → ")}`, objects: 500, bytes: 50_000 },
    ];
    r.leaks[0].site = { file: "/srv/other.py", line: 99, function: "elsewhere" };
    r.leaks[0].stack = [];
    return r;
  }
  const singleton = { ...finding("Broker.unacked"), rule: "singleton-container-growth" };

  it("matches `local variable self (Broker) → .unacked (dict, ...)`", () => {
    const r = report(["local variable self (Broker)", ".unacked (dict, 124,200 items)", "[*] (dict, 2 items)"]);
    expect(linkFindings([singleton], r, "/")[0]).toMatchObject({ leaks: [r.leaks[0].rank], via: "retainer" });
  });

  it("not the attribute of an object of another class, nor another attribute", () => {
    expect(linkFindings([singleton], report(["local variable self (Queue)", ".unacked (dict, 3 items)"]), "/")).toEqual([null]);
    expect(linkFindings([singleton], report(["BROKER (Broker)", ".acked (dict, 3 items)"]), "/")).toEqual([null]);
  });

  it("the same for another rule's finding on an object's own container (an entry left behind)", () => {
    const left = { ...finding("Broker.inflight"), rule: "cleanup-skipped" };
    const r = report(["BROKER (Broker)", ".inflight (dict, 9,000 items)"]);
    expect(linkFindings([left], r, "/")[0]).toMatchObject({ leaks: [r.leaks[0].rank], via: "retainer" });
    expect(linkFindings([left], report(["BROKER (Broker)", ".unacked (dict, 3 items)"]), "/")).toEqual([null]);
  });
});
