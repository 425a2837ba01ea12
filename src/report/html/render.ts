// renderHtml: the Report as one self-contained HTML file that works offline from
// disk. The app and its data are inlined; no URL of any kind is loaded.
import { gzipSync } from "node:zlib";
import type { Report } from "../model.js";
import { jsonForScript, renderShell, type DataBlock } from "./page.js";
import { packReport, type PackOptions, type PackedReport } from "./view-model.js";
import { commandLine } from "../units.js";

/** Data above this size is gzipped and base64-encoded (the browser inflates it with DecompressionStream). */
export const COMPRESS_ABOVE_BYTES = 64 * 1024;

export interface RenderOptions extends PackOptions {
  /** Force or forbid compression of the inlined data (default: by size). */
  compress?: boolean;
}

export function encodeData(packed: PackedReport, compress?: boolean): DataBlock {
  const json = JSON.stringify(packed);
  const shouldCompress = compress ?? Buffer.byteLength(json, "utf8") > COMPRESS_ABOVE_BYTES;
  if (shouldCompress) {
    return { encoding: "gzip-base64", text: gzipSync(json, { level: 9 }).toString("base64") };
  }
  return { encoding: "json", text: jsonForScript(packed) };
}

export function reportTitle(report: Report): string {
  const verdict = report.verdict === "leak" ? "leak" : report.verdict === "no-leak" ? "no leak" : "inconclusive";
  const short = commandLine(report.target.argv, 80);
  return `leakhound · ${verdict}${short ? ` · ${short}` : ""}`;
}

export function renderHtml(report: Report, opts: RenderOptions = {}): string {
  const packed = packReport(report, opts);
  return renderShell({ title: reportTitle(report), data: encodeData(packed, opts.compress) });
}
