// The live view: the same app served from 127.0.0.1 and fed over a WebSocket.
// Updates arrive while the "target" runs, the final analysis is marked finished,
// and the wrong token, a foreign Host or a foreign Origin are refused.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import type { Report } from "../../src/report/model.js";
import { startLiveServer, type LiveServer } from "../../src/report/live/server.js";
import { ensureBuilt, launch, networkRequests, ROOT, screenshot, watchedPage } from "./helpers.js";

const full: Report = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/reports/leak.json"), "utf8"));

/** The report as an analysis of the first `sec` seconds would see it. */
function upTo(sec: number, verdict: Report["verdict"] = "inconclusive"): Report {
  const r: Report = structuredClone(full);
  r.durationSec = sec;
  r.verdict = verdict;
  r.reason = verdict === "leak" ? full.reason : `Still watching: ${sec} s of data so far.`;
  r.target.exitCode = null;
  for (const p of r.processes) p.series = p.series.filter((s) => s[0] <= sec);
  for (const l of r.leaks) l.series = l.series.filter((s) => s[0] <= sec);
  if (verdict !== "leak") r.leaks = r.leaks.slice(0, sec > 60 ? 1 : 0);
  return r;
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Tries a WebSocket connection; resolves with the first message, or the HTTP status it was refused with. */
function tryWs(url: string, origin?: string): Promise<{ opened: boolean; status?: number; first?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.on("unexpected-response", (_req, res) => {
      resolve({ opened: false, status: res.statusCode });
      ws.terminate();
    });
    ws.on("error", () => resolve({ opened: false }));
    ws.on("message", (data) => {
      resolve({ opened: true, first: String(data) });
      ws.close();
    });
  });
}

let browser: Browser;
let server: LiveServer;
const refused: string[] = [];
beforeAll(async () => {
  await ensureBuilt();
  browser = await launch();
  server = await startLiveServer({ title: "leakhound · live · python3 app.py", onRefused: (r) => refused.push(r) });
}, 120_000);
afterAll(async () => {
  await server?.close();
  await browser?.close();
});

describe("live view", { timeout: 90_000 }, () => {
  test("binds to 127.0.0.1 on a random port with a random token", () => {
    const u = new URL(server.url);
    expect(u.hostname).toBe("127.0.0.1");
    expect(Number(u.port)).toBeGreaterThan(0);
    expect(u.searchParams.get("token")).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  test("the page needs the token and the right Host", async () => {
    const u = new URL(server.url);
    const ok = await get(server.url);
    expect(ok.status).toBe(200);
    expect(String(ok.headers["content-security-policy"])).toContain(`connect-src ws://127.0.0.1:${u.port}`);
    expect(ok.body).toContain('<meta name="leakhound-live"');
    expect((await get(`${u.origin}/`)).status).toBe(403);
    expect((await get(`${u.origin}/?token=wrong`)).status).toBe(403);
    expect((await get(`${u.origin}/?token=${u.searchParams.get("token")}x`)).status).toBe(403);
    // DNS rebinding: the right token but a foreign Host header.
    expect((await get(server.url, { Host: `evil.example:${u.port}` })).status).toBe(403);
    expect((await get(`${u.origin}/other?token=${u.searchParams.get("token")}`)).status).toBe(404);
  });

  test("the WebSocket needs the token and the page's own Origin", async () => {
    const u = new URL(server.url);
    const token = u.searchParams.get("token")!;
    const ws = `ws://127.0.0.1:${u.port}/ws`;
    const ok = await tryWs(`${ws}?token=${token}`, u.origin);
    expect(ok.opened).toBe(true);
    expect(JSON.parse(ok.first!).type).toMatch(/waiting|report/);
    expect(await tryWs(`${ws}?token=wrong`, u.origin)).toEqual({ opened: false, status: 403 });
    expect(await tryWs(ws, u.origin)).toEqual({ opened: false, status: 403 });
    expect(await tryWs(`${ws}?token=${token}`, "http://evil.example")).toEqual({ opened: false, status: 403 });
    expect(await tryWs(`${ws}?token=${token}`, `http://localhost:${u.port}`)).toEqual({ opened: false, status: 403 });
    expect(await tryWs(`${ws}?token=${token}`)).toEqual({ opened: false, status: 403 });
    expect(refused.some((r) => /foreign Origin/.test(r))).toBe(true);
  });

  test("a page from another origin cannot connect, even with the token", async () => {
    const u = new URL(server.url);
    const token = u.searchParams.get("token")!;
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end(`<!doctype html><title>evil</title><script>
        const ws = new WebSocket("ws://127.0.0.1:${u.port}/ws?token=${token}");
        ws.onmessage = (e) => { document.title = "LEAKED " + String(e.data).slice(0, 20); };
        ws.onerror = () => { document.title = "refused"; };
      </script>`);
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", () => r()));
    const port = (evil.address() as { port: number }).port;
    const w = await watchedPage(browser);
    await w.page.goto(`http://127.0.0.1:${port}/`);
    await w.page.waitForFunction(() => document.title !== "evil", undefined, { timeout: 10_000 });
    expect(await w.page.title()).toBe("refused");
    await w.page.context().close();
    await new Promise<void>((r) => evil.close(() => r()));
  });

  test("the page updates as reports arrive and shows the final analysis", async () => {
    const w = await watchedPage(browser);
    const { page } = w;
    await page.goto(server.url);
    await page.waitForSelector('html[data-lh-state="waiting"]');
    expect(await page.locator(".pill").textContent()).toContain("waiting");
    await screenshot(page, "live-waiting", false);

    server.publish(upTo(20), false);
    await page.waitForSelector('html[data-lh-seq="1"]');
    expect(await page.locator(".pill").textContent()).toContain("live — updating");
    expect(await page.locator(".verdict-kicker").textContent()).toContain("Inconclusive");
    expect(await page.locator(".verdict-reason").textContent()).toBe("Still watching: 20 s of data so far.");
    expect(await page.locator(".partial-live").textContent()).toContain("still running");
    expect(await page.locator(".facts").textContent()).toMatch(/pid \d+, running/);
    const pointsAt = () => page.evaluate(() => document.querySelector<HTMLElement>(".memory-chart")!.dataset.xMax);
    expect(Number(await pointsAt())).toBeLessThanOrEqual(20);

    // The user sorts the table and filters it; live updates keep both.
    await page.locator("#sites .th[data-key=growthBytes]").click();
    await page.locator("#sites input[type=search]").fill("shop");
    await page.waitForFunction(() => /of/.test(document.querySelector("#sites .table-count")?.textContent ?? ""));

    for (const [i, sec] of [40, 80, 120].entries()) {
      server.publish(upTo(sec), false);
      await page.waitForSelector(`html[data-lh-seq="${i + 2}"]`);
      expect(await page.locator(".verdict-reason").textContent()).toBe(`Still watching: ${sec} s of data so far.`);
      expect(Number(await pointsAt())).toBeGreaterThan(sec - 5);
    }
    expect(await page.locator(".leak-card").count()).toBe(1);
    expect(await page.locator("#sites input[type=search]").inputValue()).toBe("shop");
    expect(await page.locator("#sites .th.sorted").getAttribute("data-key")).toBe("growthBytes");
    expect(await page.locator(".pill").textContent()).toContain("live — updating");
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, "live-updating", false);

    server.publish(full, true);
    await page.waitForSelector('html[data-lh-state="final"]');
    expect(await page.locator(".pill").textContent()).toContain("finished");
    expect(await page.locator(".verdict-kicker").textContent()).toContain("Leak found");
    expect(await page.locator(".leak-card").count()).toBe(3);
    expect(await page.locator(".partial-live").count()).toBe(0);
    expect(await page.locator(".facts").textContent()).not.toContain("running");
    expect(await page.locator(".leak-card .rtree").first().textContent()).toContain("_CACHE (dict, 12,034 items)");
    expect(await page.title()).not.toMatch(/^●/);
    // After the final analysis, later publishes are ignored.
    server.publish(upTo(10), false);
    await page.waitForTimeout(300);
    expect(await page.getAttribute("html", "data-lh-seq")).toBe("5");
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, "live-final", false);
    await screenshot(page, "live-final-full");

    const origin = new URL(server.url).origin;
    expect(networkRequests(w, [origin, origin.replace("http:", "ws:")])).toEqual([]);
    expect(w.consoleErrors).toEqual([]);
    expect(w.pageErrors).toEqual([]);
    await page.context().close();
  });

  test("a page opened after the end shows the final analysis at once", async () => {
    const w = await watchedPage(browser);
    await w.page.goto(server.url);
    await w.page.waitForSelector('html[data-lh-state="final"]');
    expect(await w.page.locator(".pill").textContent()).toContain("finished");
    await w.page.context().close();
  });

  test("leakhound run --live: the page reads as running while the target runs, and leakhound ends with the target", async () => {
    const cli = path.join(ROOT, "dist", "cli.js");
    expect(existsSync(cli), "needs `npm run build`").toBe(true);
    const dir = mkdtempSync(path.join(tmpdir(), "leakhound-live-"));
    writeFileSync(
      path.join(dir, "grow.py"),
      "import time\nKEEP = []\nfor i in range(300):\n    KEEP.append(bytearray(30000))\n    time.sleep(0.03)\nraise SystemExit(4)\n",
    );
    const child = spawn(process.execPath, [cli, "run", "--quiet", "--live", "--interval", "0.2", "--", process.env.PYTHON ?? "python3", "grow.py"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
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
      });
      const w = await watchedPage(browser);
      const { page } = w;
      await page.goto(url);
      // Two live analyses of the running target: it reads as running, never as a process that died.
      await page.waitForSelector('html[data-lh-state="live"]', { timeout: 30_000 });
      const first = Number(await page.getAttribute("html", "data-lh-seq"));
      await page.waitForFunction((n) => Number(document.documentElement.getAttribute("data-lh-seq")) > n, first, { timeout: 30_000 });
      expect(await page.getAttribute("html", "data-lh-state")).toBe("live");
      const during = await page.locator("#overview").textContent();
      expect(during).not.toMatch(/did not exit normally/);
      expect(during).toMatch(/pid \d+, running/);
      expect(during).not.toMatch(/exit unknown|still running \/ unknown/);
      // Then leakhound ends by itself with the target's code, after the page got the final analysis.
      expect(await exited).toBe(4);
      await page.waitForSelector('html[data-lh-state="final"]', { timeout: 10_000 });
      expect(await page.locator(".facts").textContent()).toMatch(/exit code 4/);
      expect(w.pageErrors).toEqual([]);
      await page.context().close();
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  test("close() stops the server", async () => {
    const s = await startLiveServer();
    const url = s.url;
    await s.close();
    await expect(get(url)).rejects.toThrow();
  });
});

describe("Explain now", { timeout: 90_000 }, () => {
  test("asks the server, shows the search under way, then what came of it and when each leak was explained", async () => {
    let asked = 0;
    let finish: (note: string) => void = () => {};
    const explaining = await startLiveServer({
      onExplain: () => {
        asked++;
        return new Promise<string>((resolve) => (finish = resolve));
      },
    });
    try {
      const w = await watchedPage(browser);
      const page = w.page;
      await page.goto(explaining.url);
      explaining.publish(upTo(30, "leak"), false);
      await page.waitForSelector('html[data-lh-seq="1"]');
      const button = page.locator("button.explain-now");
      expect(await button.isVisible()).toBe(true);
      await button.click();
      await page.waitForSelector('html[data-lh-explain="running"]');
      expect(await button.isDisabled()).toBe(true);
      await button.click({ force: true }); // a second click while it runs asks nothing more
      await page.waitForTimeout(200);
      expect(asked).toBe(1);
      const explained = upTo(40, "leak");
      explained.leaks[0]!.explainedAt = { reason: "request", t: 38, beforeEndSec: 2, text: "explained at 00:38 on request, while it ran, 2.0 s ago" };
      explaining.publish(explained, false);
      finish("explained 1 of 1 process in 1.2 s; the leaks below show what keeps them alive");
      await page.waitForSelector('html[data-lh-explain="done"]');
      expect(await button.isDisabled()).toBe(false);
      expect(await page.locator(".explain-note").textContent()).toBe("explained 1 of 1 process in 1.2 s; the leaks below show what keeps them alive");
      await page.waitForFunction(() => /Explained at 00:38 on request/.test(document.querySelector(".explained-at")?.textContent ?? ""));
      // The final analysis: nothing left to explain in a running program.
      explaining.publish(full, true);
      await page.waitForSelector('html[data-lh-state="final"]');
      expect(await button.isVisible()).toBe(false);
      expect([...w.consoleErrors, ...w.pageErrors]).toEqual([]);
      await w.page.close();
    } finally {
      await explaining.close();
    }
  });

  test("no button when the server takes no requests (a static report, or --no-live-explain)", async () => {
    const plain = await startLiveServer({});
    try {
      const w = await watchedPage(browser);
      await w.page.goto(plain.url);
      plain.publish(upTo(30, "leak"), false);
      await w.page.waitForSelector('html[data-lh-seq="1"]');
      expect(await w.page.locator("button.explain-now").isVisible()).toBe(false);
      await w.page.close();
    } finally {
      await plain.close();
    }
  });
});
