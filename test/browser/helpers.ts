// Shared set-up for the browser tests: build the app bundle, drive Debian's
// Chromium through playwright-core (never a downloaded browser), and watch each
// page for console errors, dialogs and network requests.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { resetAppAssets } from "../../src/report/html/page.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = path.join(ROOT, "test-artifacts");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

let built: Promise<void> | null = null;

/** Builds web/ into dist/web. Test files run in parallel, so each builds into a temp dir and renames (atomic). */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    const { buildWeb } = (await import(pathToFileURL(path.join(ROOT, "scripts/build-web.mjs")).href)) as {
      buildWeb: (o: { outdir: string }) => Promise<unknown>;
    };
    const dist = path.join(ROOT, "dist", "web");
    mkdirSync(dist, { recursive: true });
    const tmp = mkdtempSync(path.join(dist, ".build-"));
    try {
      await buildWeb({ outdir: tmp });
      renameSync(path.join(tmp, "app.css"), path.join(dist, "app.css"));
      renameSync(path.join(tmp, "app.js"), path.join(dist, "app.js"));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    resetAppAssets();
  })();
  return built;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface Watched {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
  requests: string[];
}

/** A new page (1360×900) that records console errors, uncaught errors, dialogs and every request. */
export async function watchedPage(browser: Browser, opts: { colorScheme?: "light" | "dark"; width?: number; height?: number } = {}): Promise<Watched> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1360, height: opts.height ?? 900 },
    colorScheme: opts.colorScheme ?? "light",
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  const w: Watched = { page, consoleErrors: [], pageErrors: [], dialogs: [], requests: [] };
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") w.consoleErrors.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => w.pageErrors.push(String(err)));
  page.on("dialog", (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on("request", (req) => w.requests.push(req.url()));
  return w;
}

let tmpDir: string | null = null;

/** Writes an HTML report to a temp file and returns its file:// URL. */
export function writeTempHtml(name: string, html: string): { file: string; url: string } {
  tmpDir ??= mkdtempSync(path.join(tmpdir(), "leakhound-html-"));
  const file = path.join(tmpDir, `${name}.html`);
  writeFileSync(file, html);
  return { file, url: pathToFileURL(file).href };
}

/** Opens a static report and waits until the app has rendered it. */
export async function openReport(w: Watched, url: string): Promise<void> {
  await w.page.goto(url);
  await w.page.waitForSelector('html[data-lh-state="ready"]', { timeout: 30_000 });
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** Requests that left the page: anything but file: and data: (and about:/blob:, which never reach a network). */
export function networkRequests(w: Watched, allow: string[] = []): string[] {
  return w.requests.filter((u) => !/^(file|data|about|blob):/.test(u) && !allow.some((a) => u.startsWith(a)));
}

/** Number of painted (non-transparent) pixels on a canvas matching the selector. */
export async function paintedPixels(page: Page, selector: string): Promise<number> {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel) as HTMLCanvasElement | null;
    if (!c || !c.width || !c.height) return 0;
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  }, selector);
}
