// The JSON report file (`--json`): the Report as is, with the site table cut to
// its largest rows so the file stays small (the HTML report carries them all).
import fs from "node:fs";
import type { Report } from "./model.js";

export const JSON_SITE_ROWS = 1000;

export function toJson(report: Report): string {
  return JSON.stringify({ ...report, sites: report.sites.slice(0, JSON_SITE_ROWS) }, null, 2) + "\n";
}

export function writeJsonReport(report: Report, file: string): void {
  fs.writeFileSync(file, toJson(report));
}
