// Everything from the target is text, never markup: names, dict keys, source
// lines, argv and notes full of <script>, "><img onerror> and </script>.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { escapeHtml, jsonForScript } from "../../src/report/html/page.js";
import { renderHtml } from "../../src/report/html/render.js";
import { EVIL, maliciousReport } from "../fixtures/reports/generate.js";
import { ensureBuilt, launch, networkRequests, openReport, screenshot, watchedPage, writeTempHtml } from "./helpers.js";

let browser: Browser;
beforeAll(async () => {
  await ensureBuilt();
  browser = await launch();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe("malicious names are text", { timeout: 60_000 }, () => {
  test("escaping helpers", () => {
    expect(jsonForScript({ a: "</script><!--\u2028\u2029&" })).toBe('{"a":"\\u003c/script\\u003e\\u003c!--\\u2028\\u2029\\u0026"}');
    expect(JSON.parse(jsonForScript({ a: EVIL.close }))).toEqual({ a: EVIL.close });
    expect(escapeHtml(EVIL.img)).toBe("&#34;&#62;&#60;img src=x onerror=alert(1)&#62;");
  });

  for (const compress of [false, true]) {
    test(`the page shows them literally and runs nothing (${compress ? "compressed" : "plain JSON"} data)`, async () => {
      const report = maliciousReport();
      const html = renderHtml(report, { compress });
      // Only our two <script> elements exist in the file; the data cannot close one.
      expect(html.match(/<script/gi)).toHaveLength(2);
      expect(html.match(/<\/script/gi)).toHaveLength(2);
      expect(html).not.toMatch(/<img/i);
      expect(html.includes("\u2028")).toBe(false);
      const { url } = writeTempHtml(`malicious-${compress ? "gz" : "json"}`, html);
      const w = await watchedPage(browser);
      await openReport(w, url);
      const { page } = w;
      await page.locator(".leak-card").first().getByRole("button", { name: "Show text" }).click();
      await page.locator("#sites input[type=search]").fill("alert");
      await page.waitForTimeout(300);
      await page.locator("#sites .tlayer .trow").first().click();
      await page.locator(".leak-card details").first().evaluate((d) => ((d as HTMLDetailsElement).open = true));

      // Nothing was injected: no <img>, no <b>, no extra scripts, no dialogs.
      const counts = await page.evaluate(() => ({
        img: document.querySelectorAll("img").length,
        b: document.querySelectorAll("b").length,
        scripts: document.querySelectorAll("script").length,
        iframes: document.querySelectorAll("iframe").length,
        onerror: document.querySelectorAll("[onerror]").length,
      }));
      expect(counts).toEqual({ img: 0, b: 0, scripts: 2, iframes: 0, onerror: 0 });
      expect(w.dialogs).toEqual([]);

      // ...and the strings are there as text.
      const text = await page.evaluate(() => document.body.textContent ?? "");
      expect(text).toContain(EVIL.script); // function name of the top leak
      expect(text).toContain(EVIL.img); // inside a file name, a dict key, argv
      expect(text).toContain(EVIL.close);
      expect(text).toContain(EVIL.comment);
      expect(text).toContain(`_CACHE['${EVIL.img}'] (dict, 3 items)`); // retainer step
      expect(text).toContain(`<b>${EVIL.img}</b>`); // root kind, as text
      expect(text).toContain(EVIL.title); // a retainer note
      expect(await page.locator(".leak-card").first().locator(".site-fn").textContent()).toBe(EVIL.script);
      expect(await page.locator(".leak-card").first().locator(".source-lines").textContent()).toContain(`Y = '${EVIL.img}'`);
      expect(await page.locator(".leak-card").first().locator(".plain-text").textContent()).toContain(`at /srv/${EVIL.img}/${EVIL.close}.py:7 in ${EVIL.script}`);
      // A file named __proto__ with no captured source does not pick up Object.prototype.
      expect(await page.locator(".leak-card").nth(0).locator(".stack").textContent()).toContain("__proto__:1");
      expect(await page.title()).toContain(EVIL.title);

      if (!compress) await screenshot(page, "report-malicious");
      expect(w.pageErrors).toEqual([]);
      expect(w.consoleErrors).toEqual([]);
      expect(networkRequests(w)).toEqual([]);
      await page.context().close();
    });
  }

  test("the CSP would stop an injected inline script anyway", async () => {
    // Simulate a bug that let markup through: a page with our CSP and a stray inline script.
    const html = renderHtml(maliciousReport()).replace("<body>", "<body><script>window.__pwned = 1; alert('csp')</script>");
    const { url } = writeTempHtml("csp", html);
    const w = await watchedPage(browser);
    await w.page.goto(url);
    await w.page.waitForSelector('html[data-lh-state="ready"]');
    expect(await w.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(w.dialogs).toEqual([]);
    expect(w.consoleErrors.some((e) => /Content Security Policy/.test(e))).toBe(true);
    await w.page.context().close();
  });
});
