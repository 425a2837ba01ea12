// JSON Schema checks for the report and the agent protocol.
import { Ajv } from "ajv";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./cli.js";

const ajv = new Ajv({ allErrors: true, strict: false });
const reportSchema = JSON.parse(fs.readFileSync(path.join(ROOT, "src/report/report.schema.json"), "utf8"));
const protocolSchema = JSON.parse(fs.readFileSync(path.join(ROOT, "src/protocol/agent-protocol.schema.json"), "utf8"));
const validateReport = ajv.compile(reportSchema);
const validateAgent = ajv.compile(protocolSchema);

export function reportErrors(report: unknown): string | null {
  return validateReport(report) ? null : ajv.errorsText(validateReport.errors);
}

export function protocolErrors(line: unknown): string | null {
  return validateAgent(line) ? null : ajv.errorsText(validateAgent.errors);
}

const validateDiff = ajv.compile(JSON.parse(fs.readFileSync(path.join(ROOT, "src/diff/diff.schema.json"), "utf8")));

/** Errors of a `leakhound diff --json` document against src/diff/diff.schema.json, or null. */
export function diffErrors(diff: unknown): string | null {
  return validateDiff(diff) ? null : ajv.errorsText(validateDiff.errors);
}
