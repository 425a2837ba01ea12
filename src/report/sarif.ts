// SARIF 2.1.0 (OASIS) for any list of generic findings: code-scanning services
// read it. One implementation for `leakhound lint --sarif` and `leakhound run --sarif`.
import fs from "node:fs";
import path from "node:path";
import type { CiFinding, CiRule, CiTool } from "./ci-findings.js";

export const SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/** A file path as a SARIF URI: relative ones against %SRCROOT% (the working directory), with forward slashes, percent-encoded. */
function artifactLocation(file: string, root: string): { uri: string; uriBaseId?: string } {
  const abs = path.resolve(root, file);
  const rel = path.relative(root, abs);
  const inside = rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
  const encode = (p: string) => p.split(path.sep).map(encodeURIComponent).join("/");
  if (inside) return { uri: encode(rel), uriBaseId: "%SRCROOT%" };
  return { uri: `file://${encode(abs)}` };
}

function region(f: CiFinding): Record<string, number> | undefined {
  if (f.line === undefined) return undefined;
  const r: Record<string, number> = { startLine: f.line };
  if (f.column !== undefined) r.startColumn = f.column;
  if (f.endLine !== undefined && f.endLine >= f.line) r.endLine = f.endLine;
  if (f.endColumn !== undefined && (f.endLine ?? f.line) >= f.line) r.endColumn = f.endColumn;
  if (r.endLine === f.line && r.endColumn !== undefined && r.startColumn !== undefined && r.endColumn <= r.startColumn) delete r.endColumn;
  return r;
}

/** The SARIF log (one run) as a plain object. */
export function toSarif(tool: CiTool, rules: CiRule[], findings: CiFinding[], root = process.cwd()): object {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            ...(tool.informationUri ? { informationUri: tool.informationUri } : {}),
            rules: rules.map((r) => ({
              id: r.id,
              name: r.title.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : "")),
              shortDescription: { text: r.title },
              fullDescription: { text: r.help },
              help: { text: r.help },
            })),
          },
        },
        originalUriBaseIds: { "%SRCROOT%": { uri: `file://${root.split(path.sep).map(encodeURIComponent).join("/")}/` } },
        results: findings.map((f) => {
          const physical: Record<string, unknown> = { artifactLocation: artifactLocation(f.file, root) };
          const reg = region(f);
          if (reg) physical.region = reg;
          return {
            ruleId: f.ruleId,
            ...(index.has(f.ruleId) ? { ruleIndex: index.get(f.ruleId) } : {}),
            level: f.level,
            message: { text: f.message },
            locations: [{ physicalLocation: physical }],
          };
        }),
      },
    ],
  };
}

export function writeSarif(file: string, tool: CiTool, rules: CiRule[], findings: CiFinding[]): void {
  fs.writeFileSync(file, JSON.stringify(toSarif(tool, rules, findings), null, 2) + "\n");
}
