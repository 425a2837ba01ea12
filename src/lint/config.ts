// `[tool.leakhound]` in pyproject.toml: rules to switch off and paths to leave
// out. Read on this side (smol-toml), so it works whatever the Python version.
import fs from "node:fs";
import path from "node:path";
import { parse } from "smol-toml";
import { EXIT, UserError } from "../errors.js";
import { CONFIDENCES, type Confidence } from "./model.js";

export interface LintConfig {
  /** Rule ids not to run. */
  disable: string[];
  /** Globs of paths to skip, relative to the pyproject.toml's folder (a bare name matches at any depth). */
  exclude: string[];
  /** The lowest confidence to report (`confidence = "low"`), or undefined for the default. */
  confidence?: Confidence;
  /** The pyproject.toml read, or null. */
  source: string | null;
}


/** The nearest folder at or above `start` for which `test` holds, or null. */
export function nearestFolder(start: string, test: (dir: string) => boolean): string | null {
  let dir = path.resolve(start);
  for (;;) {
    if (test(dir)) return dir;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** The nearest pyproject.toml at or above `start`. */
export function findPyproject(start: string): string | null {
  const dir = nearestFolder(start, (d) => fs.existsSync(path.join(d, "pyproject.toml")));
  return dir === null ? null : path.join(dir, "pyproject.toml");
}

function stringList(value: unknown, key: string, file: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new UserError(`${file}: [tool.leakhound] ${key} must be a list of strings`, EXIT.usage);
  }
  return value as string[];
}

/** Reads [tool.leakhound]; a file that is not valid TOML is a one-line error (exit 2). */
export function readConfig(file: string | null): LintConfig {
  if (!file) return { disable: [], exclude: [], source: null };
  let doc: Record<string, unknown>;
  try {
    doc = parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    const first = String((err as Error).message).split("\n")[0];
    throw new UserError(`cannot read ${file}: ${first}`, EXIT.usage);
  }
  const tool = (doc.tool as Record<string, unknown> | undefined)?.leakhound as Record<string, unknown> | undefined;
  if (!tool) return { disable: [], exclude: [], source: file };
  if (tool.confidence !== undefined && !(CONFIDENCES as readonly unknown[]).includes(tool.confidence)) {
    throw new UserError(`${file}: [tool.leakhound] confidence must be "high" or "low"`, EXIT.usage);
  }
  return {
    disable: stringList(tool.disable, "disable", file),
    exclude: stringList(tool.exclude, "exclude", file),
    ...(tool.confidence !== undefined ? { confidence: tool.confidence as Confidence } : {}),
    source: file,
  };
}
