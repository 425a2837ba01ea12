// Reports from real runs: `leakhound run --html` on a leaking Python program,
// opened in Chromium; and `leakhound run --live` watched while the target runs.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ensureBuilt, launch, networkRequests, openReport, paintedPixels, ROOT, screenshot, watchedPage } from "./helpers.js";

const CLI = path.join(ROOT, "dist", "cli.js");
const PYTHON = process.env.PYTHON ?? "python3";

const LEAKY = `import time

_CACHE = {}


class Record:
    def __init__(self, body):
        self.body = body


def remember(i):
    _CACHE[f"key-{i}"] = Record("x" * 2000 + str(i))


def main():
    for i in range(STEPS):
        for j in range(40):
            remember(i * 40 + j)
        time.sleep(0.03)


main()
`;

let browser: Browser;
let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  browser = await launch();
  dir = mkdtempSync(path.join(tmpdir(), "leakhound-run-"));
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!existsSync(CLI))("reports from real runs (needs `npm run build`)", { timeout: 180_000 }, () => {
  test("leakhound run --html: the report of a leaking program", async () => {
    writeFileSync(path.join(dir, "leaky.py"), LEAKY.replace("STEPS", "300"));
    const html = path.join(dir, "report.html");
    const run = spawnSync(process.execPath, [CLI, "run", "--quiet", "--html", html, "--", PYTHON, "leaky.py"], { cwd: dir, encoding: "utf8", timeout: 150_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(statSync(html).size).toBeLessThan(2 * 1024 * 1024);

    const w = await watchedPage(browser);
    await openReport(w, pathToFileURL(html).href);
    const { page } = w;
    expect(await page.locator(".verdict-kicker").textContent()).toContain("Leak found");
    expect(await page.locator(".facts").textContent()).toContain(`${PYTHON} leaky.py`);
    const card = page.locator(".leak-card").first();
    expect(await card.locator(".site-fn").textContent()).toBe("remember");
    expect(await card.locator(".site-loc").textContent()).toBe(`${path.join(dir, "leaky.py")}:12`);
    expect(await card.locator(".source-lines tr.hl .code").textContent()).toContain('_CACHE[f"key-{i}"] = Record(');
    const retainers = await card.locator(".rtree").textContent();
    expect(retainers).toContain("module __main__");
    expect(retainers).toContain("_CACHE (dict");
    expect(await paintedPixels(page, ".memory-chart canvas")).toBeGreaterThan(5000);
    expect(await paintedPixels(page, ".flame-canvas")).toBeGreaterThan(1000);
    await screenshot(page, "run-report");
    await card.screenshot({ path: path.join(ROOT, "test-artifacts", "run-report-card.png") });
    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
    expect(networkRequests(w)).toEqual([]);
    await page.context().close();
  });

  test("leakhound run --repeat on a pytest suite: the report names the leaking test and the cache fill", async () => {
    const suite = path.join(dir, "shop_suite");
    cpSync(path.join(ROOT, "test", "fixtures", "pytest", "shop_suite"), suite, { recursive: true });
    // pytest's own records are ~1.5 KiB a test: the shop suite's 86 runs give a sample or two of them,
    // whose sign is noise; the clean suite's 400 small tests make them measured every time.
    cpSync(path.join(ROOT, "test", "fixtures", "pytest", "clean_suite", "test_many.py"), path.join(suite, "test_many.py"));
    const html = path.join(dir, "pytest-report.html");
    const run = spawnSync(process.execPath, [CLI, "run", "--quiet", "--repeat", "2", "--html", html, "--", PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not bounded"], {
      cwd: suite,
      encoding: "utf8",
      timeout: 150_000,
    });
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const w = await watchedPage(browser);
    await openReport(w, pathToFileURL(html).href);
    const { page } = w;
    const section = page.locator("section#tests");
    expect(await section.isVisible()).toBe(true);
    const leakRow = section.locator('tr.test-leak[data-test="test_orders.py::test_checkout[*]"]');
    expect(await leakRow.locator(".badge").textContent()).toBe("leaks");
    expect(await leakRow.textContent()).toContain("orders.py:16");
    expect(await leakRow.textContent()).toContain("kept alive by module shop.orders → _HISTORY");
    expect(await section.locator('tr.test-first-run[data-test="test_orders.py::test_prices"]').count()).toBe(1);
    expect(await section.textContent()).toContain("pytest's own per-test records");
    expect(await page.locator(".leak-card .leak-tests").first().textContent()).toContain("test_orders.py::test_checkout[*] (80 runs");
    await section.screenshot({ path: path.join(ROOT, "test-artifacts", "pytest-tests-section.png") });
    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
    await page.context().close();
  });

  test("leakhound run --live: the page updates while the target runs, then shows the final analysis", async () => {
    writeFileSync(path.join(dir, "leaky-long.py"), LEAKY.replace("STEPS", "400"));
    const child = spawn(process.execPath, [CLI, "run", "--quiet", "--live", "--", PYTHON, "leaky-long.py"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no live URL printed:\n${stderr}`)), 30_000);
        child.stderr.on("data", () => {
          const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[0]);
          }
        });
        child.on("exit", () => reject(new Error(`leakhound exited early:\n${stderr}`)));
      });
      const w = await watchedPage(browser);
      const { page } = w;
      await page.goto(url);
      // While the target runs: at least two live updates before the final one.
      await page.waitForSelector('html[data-lh-state="live"]', { timeout: 30_000 });
      const first = Number(await page.getAttribute("html", "data-lh-seq"));
      await page.waitForFunction((n) => Number(document.documentElement.getAttribute("data-lh-seq")) > n, first, { timeout: 30_000 });
      expect(await page.locator(".pill").textContent()).toMatch(/live — updating|finished/);
      await screenshot(page, "run-live-updating", false);
      await page.waitForSelector('html[data-lh-state="final"]', { timeout: 120_000 });
      expect(await page.locator(".pill").textContent()).toContain("finished");
      expect(await page.locator(".verdict-kicker").textContent()).toContain("Leak found");
      expect(await page.locator(".leak-card .site-fn").first().textContent()).toBe("remember");
      await screenshot(page, "run-live-final", false);
      const origin = new URL(url).origin;
      expect(networkRequests(w, [origin, origin.replace("http:", "ws:")])).toEqual([]);
      expect(w.pageErrors).toEqual([]);
      expect(w.consoleErrors).toEqual([]);
      await page.context().close();
    } finally {
      child.kill("SIGINT");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    }
  });
});
