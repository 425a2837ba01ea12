// The HTML shell shared by the static report and the live view: the bundled app
// (web/, built by scripts/build-web.mjs into dist/web) inlined, a strict
// Content-Security-Policy, and either the report data or the live endpoint.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface AppAssets {
  js: string;
  css: string;
}

let cached: AppAssets | null = null;

/** dist/web when running compiled (dist/report/html), or <root>/dist/web when running from src. */
const ASSET_DIRS = [new URL("../../web/", import.meta.url), new URL("../../../dist/web/", import.meta.url)];

export function loadAppAssets(): AppAssets {
  if (cached) return cached;
  for (const dir of ASSET_DIRS) {
    const js = new URL("app.js", dir);
    const css = new URL("app.css", dir);
    if (existsSync(js) && existsSync(css)) {
      const assets = { js: readFileSync(js, "utf8"), css: readFileSync(css, "utf8") };
      checkInlineSafe(assets);
      cached = assets;
      return assets;
    }
  }
  const tried = ASSET_DIRS.map((d) => fileURLToPath(d)).join(", ");
  throw new Error(`leakhound: the HTML report app is not built (looked in ${tried}); run \`npm run build\``);
}

/** For tests and the build: forget the cached bundle so a rebuilt one is read. */
export function resetAppAssets(): void {
  cached = null;
}

function checkInlineSafe({ js, css }: AppAssets): void {
  // The bundle is inlined into <script>/<style>; these sequences would end or confuse the element.
  if (/<\/script|<!--/i.test(js)) throw new Error("leakhound: app.js contains </script or <!-- and cannot be inlined");
  if (/<\/style/i.test(css)) throw new Error("leakhound: app.css contains </style and cannot be inlined");
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that can sit inside <script type="application/json">: no `<` at all
 * (so neither `</script>` nor `<!--` can appear), and no raw U+2028/U+2029.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("base64");
}

export interface DataBlock {
  /** "json": the escaped JSON itself; "gzip-base64": gzip of the JSON, base64. */
  encoding: "json" | "gzip-base64";
  text: string;
}

export interface ShellOptions {
  title: string;
  /** Inlined report data (static report). */
  data?: DataBlock;
  /** Live view: the WebSocket path and the origin allowed to connect (ws://127.0.0.1:PORT). */
  live?: { wsPath: string; wsOrigin: string; explain?: boolean };
}

export function contentSecurityPolicy(js: string, live?: { wsOrigin: string }): string {
  return [
    "default-src 'none'",
    `script-src 'sha256-${sha256(js)}'`,
    "style-src 'unsafe-inline'",
    "img-src data:",
    live ? `connect-src ${live.wsOrigin}` : "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

export function renderShell(opts: ShellOptions): string {
  const { js, css } = loadAppAssets();
  const csp = contentSecurityPolicy(js, opts.live);
  const parts = [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="leakhound">',
    // An empty icon, so the browser does not ask the server (or the disk) for /favicon.ico.
    '<link rel="icon" href="data:,">',
  ];
  if (opts.live) parts.push(`<meta name="leakhound-live" content="${escapeHtml(opts.live.wsPath)}">`);
  if (opts.live?.explain) parts.push(`<meta name="leakhound-explain" content="on">`);
  parts.push(
    `<title>${escapeHtml(opts.title)}</title>`,
    `<style>${css}</style>`,
    "</head>",
    "<body>",
    '<div id="app"><p class="lh-boot">Loading the leakhound report…</p></div>',
    "<noscript><p class=\"lh-boot\">This report needs JavaScript to draw its charts and tables.</p></noscript>",
  );
  if (opts.data) {
    parts.push(
      `<script type="application/json" id="leakhound-data" data-encoding="${opts.data.encoding}">${opts.data.text}</script>`,
    );
  }
  parts.push(`<script>${js}</script>`, "</body>", "</html>", "");
  return parts.join("\n");
}
