// Static HTML reports opened from disk in Chromium: what the user sees, that
// the charts drew, and that the page stays offline and quiet.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Report } from "../../src/report/model.js";
import { renderHtml } from "../../src/report/html/render.js";
import { ensureBuilt, launch, networkRequests, openReport, paintedPixels, ROOT, screenshot, watchedPage, writeTempHtml } from "./helpers.js";

const fixture = (name: string): Report => JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/reports", `${name}.json`), "utf8"));

let browser: Browser;
beforeAll(async () => {
  await ensureBuilt();
  browser = await launch();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe("static report", { timeout: 60_000 }, () => {
  test("leak: verdict, top leak, retainers, charts, offline", async () => {
    const report = fixture("leak");
    const html = renderHtml(report);
    const { url } = writeTempHtml("leak", html);
    const w = await watchedPage(browser);
    await openReport(w, url);
    const { page } = w;

    await expect(page.locator(".verdict-kicker").textContent()).resolves.toContain("Leak found");
    await expect(page.locator(".verdict-reason").textContent()).resolves.toBe(report.reason);
    const facts = await page.locator(".facts").textContent();
    expect(facts).toContain("python3 app.py --port 8080");
    expect(facts).toContain("3.12.4");
    expect(facts).toContain("tracemalloc (exact), samples every 0.5 s");

    const first = page.locator(".leak-card").first();
    await expect(first.locator(".site-fn").textContent()).resolves.toBe("remember");
    await expect(first.locator(".site-loc").textContent()).resolves.toBe("/srv/shop/cache.py:42");
    const tree = await first.locator(".rtree").innerText();
    expect(tree).toContain("module app.cache");
    expect(tree).toContain("_CACHE (dict, 12,034 items)");
    expect(tree).toContain("Record.body (str)");
    expect(tree).toContain("× 12,034");
    // The merged tree: one root node for the three paths through module app.cache.
    expect(await first.locator(".rtree > li").count()).toBe(1);
    // Source lines around the site, the site's line highlighted.
    await expect(first.locator(".source-lines tr.hl .code").textContent()).resolves.toBe(
      "    record = Record(body=body, headers=dict(headers), stored_at=time.time())",
    );
    expect(await page.locator(".leak-card").count()).toBe(3);
    await expect(page.locator(".leak-card").nth(2).locator(".note").textContent()).resolves.toContain("not reachable from any root");

    // Charts drew: uPlot's canvas, the flame chart's canvas, the sparklines' SVG paths.
    expect(await paintedPixels(page, ".memory-chart canvas")).toBeGreaterThan(5000);
    expect(await paintedPixels(page, ".flame-canvas")).toBeGreaterThan(5000);
    const spark = await first.locator(".sparkline .spark-line").getAttribute("d");
    expect(spark?.length ?? 0).toBeGreaterThan(100);
    // Legend shows RSS, heap and the top leaks as their own series.
    const legend = await page.locator(".u-legend").innerText();
    expect(legend).toContain("RSS");
    expect(legend).toContain("Python heap");
    expect(legend).toContain("#1 remember");

    await screenshot(page, "report-leak");
    await first.screenshot({ path: path.join(ROOT, "test-artifacts", "report-leak-card.png") });
    await page.locator("#flame").screenshot({ path: path.join(ROOT, "test-artifacts", "report-flame.png") });
    await page.locator("#sites").screenshot({ path: path.join(ROOT, "test-artifacts", "report-sites.png") });
    await page.setViewportSize({ width: 1360, height: 900 });
    await screenshot(page, "report-leak-top", false);
    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
    expect(networkRequests(w)).toEqual([]);
    await page.context().close();
  });

  test("hover values and zoom on the memory chart", async () => {
    const { url } = writeTempHtml("leak-zoom", renderHtml(fixture("leak")));
    const w = await watchedPage(browser);
    await openReport(w, url);
    const { page } = w;
    const over = page.locator(".memory-chart .u-over");
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5);
    const values = await page.locator(".u-legend .u-value").allInnerTexts();
    expect(values.some((v) => /MiB/.test(v))).toBe(true);
    // Drag to zoom: the x scale narrows.
    const range = () => page.evaluate(() => {
      const el = document.querySelector<HTMLElement>(".memory-chart")!;
      return [Number(el.dataset.xMin), Number(el.dataset.xMax)];
    });
    const before = await range();
    expect(before[1] - before[0]).toBeGreaterThan(170);
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.up();
    await page.waitForTimeout(100);
    await page.locator(".memory-chart").screenshot({ path: path.join(ROOT, "test-artifacts", "report-chart-zoomed.png") });
    const after = await range();
    expect(after[1] - after[0]).toBeLessThan((before[1] - before[0]) * 0.3);
    expect(after[0]).toBeGreaterThan(before[0]);
    expect(w.pageErrors).toEqual([]);
    await page.context().close();
  });

  test("copy as text gives a plain-text bug report", async () => {
    const { url } = writeTempHtml("leak-copy", renderHtml(fixture("leak")));
    const w = await watchedPage(browser);
    await w.page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await openReport(w, url);
    const card = w.page.locator(".leak-card").first();
    await card.getByRole("button", { name: "Show text" }).click();
    const text = await card.locator(".plain-text").textContent();
    expect(text).toContain("Memory leak #1 (python) at /srv/shop/cache.py:42 in remember");
    expect(text).toContain("> 42 |     record = Record(body=body, headers=dict(headers), stored_at=time.time())");
    expect(text).toContain("module app.cache → _CACHE (dict, 12,034 items) → value → Record.body (str)");
    expect(text).toContain("Stack (innermost first):");
    await card.getByRole("button", { name: "Copy as text" }).click();
    await expect.poll(() => card.getByRole("button").first().textContent()).toMatch(/Copied|Select/);
    expect(w.pageErrors).toEqual([]);
    await w.page.context().close();
  });

  for (const [name, verdict] of [
    ["no-leak", "No leak"],
    ["inconclusive", "Inconclusive"],
    ["native", "Leak found"],
  ] as const) {
    test(`${name}: verdict and charts`, async () => {
      const report = fixture(name);
      const { url } = writeTempHtml(name, renderHtml(report));
      const w = await watchedPage(browser);
      await openReport(w, url);
      const { page } = w;
      await expect(page.locator(".verdict-kicker").textContent()).resolves.toContain(verdict);
      await expect(page.locator(".verdict-reason").textContent()).resolves.toBe(report.reason);
      expect(await page.locator(".leak-card").count()).toBe(report.leaks.length);
      expect(await paintedPixels(page, ".memory-chart canvas")).toBeGreaterThan(5000);
      expect(await paintedPixels(page, ".flame-canvas")).toBeGreaterThan(500);
      if (name === "native") {
        expect(await page.locator(".leak-card .badge-native").count()).toBe(1);
        await expect(page.locator(".leak-card .note").textContent()).resolves.toContain("no Python retainer path");
        expect(await page.locator(".facts").textContent()).toContain("1 per ~512 KiB allocated: ±70.7% at 1 MiB");
        expect(await page.locator(".u-legend").innerText()).toContain("pid 9002");
      }
      if (name === "inconclusive") {
        expect(await page.locator(".partial").count()).toBe(1);
        expect(await page.locator(".facts").textContent()).toContain("killed by SIGINT");
      }
      await screenshot(page, `report-${name}`);
      expect(w.consoleErrors).toEqual([]);
      expect(w.pageErrors).toEqual([]);
      expect(networkRequests(w)).toEqual([]);
      await page.context().close();
    });
  }

  test("no Python process observed: the command and its note, no duration or memory figures", async () => {
    const base = fixture("inconclusive");
    const report: Report = {
      ...base,
      processes: [],
      leaks: [],
      sites: [],
      target: { ...base.target, pid: null, python: null, argv: ["python2", "-c", "import time\ntime.sleep(5)"] },
      notes: ["Python 2.7.18 cannot be observed: leakhound needs Python 3.8 or newer (this is 2.7.18)"],
    };
    const { url } = writeTempHtml("no-process", renderHtml(report));
    const w = await watchedPage(browser);
    await openReport(w, url);
    const { page } = w;
    const facts = await page.locator(".facts").textContent();
    expect(facts).toContain("python2 -c 'import time …'");
    expect(facts).not.toContain("Duration");
    await expect(page.locator(".memfigs").textContent()).resolves.toContain("Memory not measured: no Python process was observed.");
    await expect(page.locator(".notes").textContent()).resolves.toContain("needs Python 3.8 or newer");
    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
    await page.context().close();
  });

  test("threads that pile up: a figure beside the memory's, with the no-Python-frame site named", async () => {
    const base = fixture("native");
    const report: Report = {
      ...base,
      threads: { start: 2, end: 661, peak: 661, ratePerSec: 87.2, growing: true },
      leaks: base.leaks.map((l, i) => (i === 0 ? { ...l, site: { file: "<unknown>", line: 0, function: "?" }, stack: [{ file: "<unknown>", line: 0, function: "?" }] } : l)),
    };
    const { url } = writeTempHtml("threads", renderHtml(report));
    const w = await watchedPage(browser);
    await openReport(w, url);
    const { page } = w;
    const fig = page.locator(".memfig.threads-growing");
    await expect(fig.locator(".fig-label").textContent()).resolves.toBe("Threads");
    await expect(fig.locator(".fig-value").textContent()).resolves.toBe("2 → 661, still growing (+87/s)");
    await expect(fig.locator(".fig-sub").textContent()).resolves.toBe("threads are started and never end");
    await expect(page.locator(".leak-card").first().innerText()).resolves.toContain("(no Python frame)");
    await expect(page.locator(".leak-card").first().innerText()).resolves.not.toContain("<unknown>");
    // A count that did not move shows no figure.
    const flat: Report = { ...base, threads: { start: 3, end: 3, peak: 4, ratePerSec: 0, growing: false } };
    const flatPage = await watchedPage(browser);
    await openReport(flatPage, writeTempHtml("threads-flat", renderHtml(flat)).url);
    expect(await flatPage.page.locator(".memfig").count()).toBe(2);
    for (const x of [w, flatPage]) {
      expect(x.consoleErrors).toEqual([]);
      expect(x.pageErrors).toEqual([]);
      await x.page.context().close();
    }
  });

  test("dark colour scheme", async () => {
    const { url } = writeTempHtml("leak-dark", renderHtml(fixture("leak")));
    const w = await watchedPage(browser, { colorScheme: "dark" });
    await openReport(w, url);
    await screenshot(w.page, "report-leak-dark", false);
    expect(w.pageErrors).toEqual([]);
    await w.page.context().close();
  });

  test("the file is self-contained: no external URL, data inlined, strict CSP", () => {
    const html = renderHtml(fixture("leak"));
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;sha256-/);
    expect(html).not.toMatch(/<(link|img|iframe)[^>]+(src|href)="(?!data:)/i);
    expect(html).not.toMatch(/\bsrc=/i);
    expect(html.match(/<script/gi)).toHaveLength(2);
    expect(html.match(/<\/script/gi)).toHaveLength(2);
    // No http(s) URL other than SVG's namespace name (which is never fetched).
    expect(html.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, "")).not.toMatch(/https?:\/\//);
    const size = statSync(writeTempHtml("leak-size", html).file).size;
    expect(size).toBeLessThan(400 * 1024);
  });
});

// `--lint`: the lint findings that explain a leak show on its card.
describe("leak card causes", { timeout: 60_000 }, () => {
  test("a leak with causes shows each one's sentence, rule, place and fix; others show none", async () => {
    const report = fixture("leak");
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

describe("leak card holder", { timeout: 60_000 }, () => {
  test("a leak a standard library table holds says which, why, and the fix, on its card and in its text copy", async () => {
    const report = fixture("leak");
    report.leaks[0]!.holder = {
      id: "logging-loggers",
      what: "`logging` keeps every logger `logging.getLogger(name)` has made, for the life of the process",
      fix: "Use one logger per module (`logging.getLogger(__name__)`).",
    };
    const { url } = writeTempHtml("holder", renderHtml(report));
    const w = await watchedPage(browser);
    await openReport(w, url);
    const cards = w.page.locator(".leak-card");
    const holder = cards.first().locator(".holder");
    await expect(holder.count()).resolves.toBe(1);
    const text = await holder.textContent();
    expect(text).toContain("Held by: `logging` keeps every logger");
    expect(text).toContain("Fix: Use one logger per module");
    if ((await cards.count()) > 1) await expect(cards.nth(1).locator(".holder").count()).resolves.toBe(0);
    expect(w.pageErrors).toEqual([]);
    expect(w.consoleErrors).toEqual([]);
  });
});
