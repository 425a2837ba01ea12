// Writes the self-contained HTML report.
import fs from "node:fs";
import type { Report } from "./model.js";
import { renderHtml } from "./html/render.js";

export function writeHtmlReport(report: Report, file: string): void {
  fs.writeFileSync(file, renderHtml(report));
}
