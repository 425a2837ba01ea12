#!/usr/bin/env node
// Bundles the report app (web/) into one IIFE script and one stylesheet,
// dist/web/app.js and dist/web/app.css, which renderHtml and the live server
// inline into every page. uPlot and its CSS are bundled in; nothing is fetched.
import { build } from "esbuild";
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function buildWeb({ outdir = path.join(root, "dist", "web"), minify = true } = {}) {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: { app: path.join(root, "web", "main.ts") },
    outdir,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["chrome105", "firefox113", "safari16.4"],
    minify,
    legalComments: "none",
    charset: "utf8",
    logLevel: "warning",
    // The bundle is inlined into <script>; esbuild already escapes "</script" in strings.
    supported: { "inline-script": false, "inline-style": false },
  });
  const js = readFileSync(path.join(outdir, "app.js"), "utf8");
  const css = readFileSync(path.join(outdir, "app.css"), "utf8");
  if (/<\/script|<!--/i.test(js)) throw new Error("build-web: app.js contains </script or <!--");
  if (/<\/style/i.test(css)) throw new Error("build-web: app.css contains </style");
  if (/https?:\/\/(?!www\.w3\.org\/)/.test(js + css)) throw new Error("build-web: the bundle mentions an external URL");
  return { js: js.length, css: css.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sizes = await buildWeb();
  console.log(`web: dist/web/app.js ${(sizes.js / 1024).toFixed(0)} KiB, app.css ${(sizes.css / 1024).toFixed(0)} KiB`);
}
