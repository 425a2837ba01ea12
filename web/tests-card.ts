// The report's tests section (a pytest session): the tests that kept memory after their
// teardown, leaks first, and pytest's own per-test records, apart.
import type { TestReport } from "../src/report/model.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";
import type { Model } from "./model.js";

const VERDICT: Record<TestReport["verdict"], string> = {
  leak: "leaks",
  "first-run": "first run only",
  once: "ran once",
};

export function renderTests(model: Model): HTMLElement | null {
  const tests = model.head.tests;
  if (!tests) return null;
  const runner = model.head.testRunner;
  const rows = tests.map((t) => {
    const leak = model.leaks.find((l) => l.tests?.some((x) => x.id === t.id));
    const path = leak?.retainers[0]?.text ?? "";
    const site = t.sites[0]?.site ?? null;
    const per = t.verdict === "leak" ? `+${fmt.bytes(t.bytesPerRun)} per run` : `${fmt.bytes(t.firstRunBytes)} on its first run`;
    return h(
      "tr",
      { class: `test-row test-${t.verdict}`, data: { test: t.id } },
      h("td", null, h("span", { class: `badge badge-test-${t.verdict}` }, VERDICT[t.verdict])),
      h("td", { class: "test-id" }, t.id),
      h("td", { class: "num" }, String(t.runs)),
      h("td", { class: "num" }, per),
      h("td", { class: "loc", title: site?.file ?? "" }, site ? fmt.frameLocation(site, true) : ""),
      h("td", { class: "small" }, path ? `kept alive by ${path}` : t.evidence),
    );
  });
  return h(
    "div",
    { class: "card tests-card" },
    tests.length
      ? h(
          "table",
          { class: "tests-table" },
          h("thead", null, h("tr", null, ...["", "Test", "Runs", "Kept", "Allocated at", "Why"].map((x) => h("th", null, x)))),
          h("tbody", null, rows),
        )
      : h("p", null, "No test kept memory after its teardown."),
    runner && runner.bytes > 0
      ? h("p", { class: "muted small" }, `pytest's own per-test records: ${fmt.bytes(runner.bytesPerTest)} per test over ${fmt.count(runner.tests)} test runs (its reports and bookkeeping; not the suite's leak).`)
      : null,
  );
}
