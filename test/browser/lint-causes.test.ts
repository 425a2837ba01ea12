// `--lint` in the HTML report: the lint findings that explain a leak show on its card.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Report } from "../../src/report/model.js";
import { renderHtml } from "../../src/report/html/render.js";
import { ensureBuilt, launch, openReport, ROOT, watchedPage, writeTempHtml } from "./helpers.js";

let browser: Browser;
beforeAll(async () => {
  await ensureBuilt();
  browser = await launch();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe("leak card causes", { timeout: 60_000 }, () => {
  test("a leak with causes shows each one's sentence, rule, place and fix; others show none", async () => {
    const report: Report = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/reports/leak.json"), "utf8"));
    report.leaks[0]!.causes = [
      {
        rule: "unbounded-cache",
        file: "shop/cache.py",
        line: 40,
        column: 5,
        message: "The module-level dict `_cache` memoises `remember()` by argument with no bound or eviction, so it keeps one entry per distinct key forever.",
        fix: "Use `functools.lru_cache(maxsize=N)` on a module-level function of the key.",
        via: "retainer",
      },
    ];
    const { url } = writeTempHtml("lint-causes", renderHtml(report));
    const w = await watchedPage(browser);
    await openReport(w, url);
    const cards = w.page.locator(".leak-card");
    const cause = cards.first().locator(".cause");
    await expect(cause.count()).resolves.toBe(1);
    const text = await cause.textContent();
    expect(text).toContain("Cause: The module-level dict `_cache` memoises `remember()`");
    expect(text).toContain("(unbounded-cache, shop/cache.py:40)");
    expect(text).toContain("Fix: Use `functools.lru_cache(maxsize=N)`");
    if ((await cards.count()) > 1) await expect(cards.nth(1).locator(".cause").count()).resolves.toBe(0);
    expect(w.pageErrors).toEqual([]);
    expect(w.consoleErrors).toEqual([]);
  });
});
