// Validates SARIF logs against the vendored OASIS SARIF 2.1.0 schema (test/fixtures/sarif).
import { Ajv } from "ajv";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./cli.js";

const raw = JSON.parse(fs.readFileSync(path.join(ROOT, "test/fixtures/sarif/sarif-schema-2.1.0.json"), "utf8"));
// Draft-04 spelling to ajv's: top-level `id` is `$id`; no other keyword it uses changed meaning.
const { $schema: _ignored, id, ...rest } = raw;
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile({ $id: id, ...rest });

export function sarifErrors(log: unknown): string | null {
  return validate(log) ? null : ajv.errorsText(validate.errors);
}
