// The host's qualified names for frames of CPython < 3.11 (bare code-object names), from the
// source text: scopes, strings and brackets that span lines, and what happens when it guesses wrong.
import { describe, expect, it } from "vitest";
import { qualify, scanScopes } from "../../src/host/qualnames.js";

const SOURCE = `import os

class A:
    x = [i for i in range(3)]

    def m(self, a,
          b=1):
        def inner():
            return 1
        s = """
def fake():
    pass
"""
        t = '"""'  # a triple quote inside a one-line string
        return inner

    @staticmethod
    async def am():
        pass

class B(A):
\tclass C:
\t\tdef deep(self):
\t\t\treturn lambda: 2

def top(
    flag=None,
):
    return {
"key": flag,
    }

def last(): return 0
`;

const lineOf = (text: string) => SOURCE.split("\n").findIndex((l) => l.includes(text)) + 1;

describe("qualified names from the source", () => {
  const scopes = scanScopes(SOURCE);

  it("finds every def and class with its enclosing scopes", () => {
    expect(scopes.map((s) => s.qualname).sort()).toEqual(
      ["A", "A.am", "A.m", "A.m.<locals>.inner", "B", "B.C", "B.C.deep", "last", "top"].sort(),
    );
  });

  it("qualifies a frame's bare name at a line of its body", () => {
    expect(qualify(scopes, lineOf("return 1"), "inner")).toBe("A.m.<locals>.inner");
    expect(qualify(scopes, lineOf("return inner"), "m")).toBe("A.m"); // after a multi-line string
    expect(qualify(scopes, lineOf("b=1"), "m")).toBe("A.m"); // a continued header
    expect(qualify(scopes, lineOf("def inner"), "m")).toBe("A.m"); // a nested def line runs in m
    expect(qualify(scopes, lineOf("        pass"), "am")).toBe("A.am");
    expect(qualify(scopes, lineOf("return lambda"), "deep")).toBe("B.C.deep");
    expect(qualify(scopes, lineOf('"key": flag'), "top")).toBe("top"); // a dedented line inside brackets
    expect(qualify(scopes, lineOf("def last"), "last")).toBe("last");
  });

  it("gives comprehensions and lambdas their enclosing scope's prefix, as co_qualname does", () => {
    expect(qualify(scopes, lineOf("x = [i for"), "<listcomp>")).toBe("A.<listcomp>");
    expect(qualify(scopes, lineOf("return lambda"), "<lambda>")).toBe("B.C.deep.<locals>.<lambda>");
    expect(qualify(scopes, lineOf("import os"), "<lambda>")).toBe("<lambda>");
    expect(qualify(scopes, lineOf("import os"), "<module>")).toBe("<module>");
  });

  it("keeps the bare name when no scope around the line ends with it", () => {
    expect(qualify(scopes, lineOf("return 1"), "something_else")).toBe("something_else");
    expect(qualify(scopes, 10_000, "m")).toBe("m");
    expect(qualify(scanScopes(""), 1, "f")).toBe("f");
  });
});
