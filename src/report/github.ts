// GitHub Actions workflow commands (`::warning file=...,line=...::message`) for
// any list of generic findings: they show as annotations on the pull request.
// One implementation for `leakhound lint --github` and `leakhound run --github`.
import type { CiFinding } from "./ci-findings.js";

/** A command's message: %, CR and LF escaped (GitHub's rules for command data). */
export function escapeData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** A command's property value: as data, plus ':' and ','. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** One `::warning ...::message` line (notice for "note", error for "error"). */
export function annotation(f: CiFinding, title?: string): string {
  const command = f.level === "note" ? "notice" : f.level;
  const props: string[] = [`file=${escapeProperty(f.file)}`];
  if (f.line !== undefined) props.push(`line=${f.line}`);
  if (f.endLine !== undefined) props.push(`endLine=${f.endLine}`);
  if (f.column !== undefined) props.push(`col=${f.column}`);
  if (f.endColumn !== undefined && (f.endLine === undefined || f.endLine === f.line)) props.push(`endColumn=${f.endColumn}`);
  props.push(`title=${escapeProperty(title ?? f.ruleId)}`);
  return `::${command} ${props.join(",")}::${escapeData(f.message)}\n`;
}

export function githubAnnotations(findings: CiFinding[], titleOf: (f: CiFinding) => string = (f) => f.ruleId): string {
  return findings.map((f) => annotation(f, titleOf(f))).join("");
}
