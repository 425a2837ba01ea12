// Helpers for the lint tests: the fixtures' `# expect: rule-id` markers and the lint JSON schema.
import { Ajv } from "ajv";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./cli.js";

export const LINT_FIXTURES = path.join(ROOT, "test", "fixtures", "lint");

const ajv = new Ajv({ allErrors: true, strict: false });
const validateLint = ajv.compile(JSON.parse(fs.readFileSync(path.join(ROOT, "src/lint/lint.schema.json"), "utf8")));

export function lintJsonErrors(doc: unknown): string | null {
  return validateLint(doc) ? null : ajv.errorsText(validateLint.errors);
}

/** Every fixture file, relative to LINT_FIXTURES: <rule>/{positive,negative}/ and the folders below, every .py file */
export function fixtureFiles(): string[] {
  const out: string[] = [];
  for (const rule of fs.readdirSync(LINT_FIXTURES).sort()) {
    for (const side of ["positive", "negative"]) {
      const dir = path.join(LINT_FIXTURES, rule, side);
      if (!fs.existsSync(dir)) continue;
      const files = fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".py")).sort();
      for (const f of files) out.push(path.join(rule, side, f));
    }
  }
  return out;
}

/** "line rule confidence" for every `# expect: rule-id` (high) or `# expect: rule-id (low)` marker of a fixture. */
export function expectedFindings(rel: string): string[] {
  const lines = fs.readFileSync(path.join(LINT_FIXTURES, rel), "utf8").split("\n");
  const out: string[] = [];
  lines.forEach((l, i) => {
    const m = /# expect: ([a-z-]+)( \(low\))?/.exec(l);
    if (m) out.push(`${i + 1} ${m[1]} ${m[2] ? "low" : "high"}`);
  });
  return out;
}
