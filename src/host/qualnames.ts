// Qualified function names ("Cls.method", "f.<locals>.g") for frames whose code object only knew
// its bare name (CPython before 3.11). The agent could rebuild them from each file's code objects,
// but that costs the target ~30 KB per file and 100 KB+ while they load; the host reads the
// source instead. The scan follows `def`/`class` lines and their indentation, skipping lines
// inside strings and open brackets. A guess is used only when it ends with the frame's own
// name, so what the scan gets wrong costs a qualified name, never a wrong one for that frame.
import fs from "node:fs";
import type { Frame } from "../protocol/messages.js";

export interface Scope {
  /** First and last line of the statement (its def/class line to its last code line). */
  first: number;
  last: number;
  qualname: string;
  isFunction: boolean;
}

const MAX_SOURCE_BYTES = 8 * 1024 * 1024;
const NAME = /^[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*/;

/** The def/class scopes of a Python source file. */
export function scanScopes(source: string): Scope[] {
  const scopes: Scope[] = [];
  const stack: { indent: number; first: number; qualname: string; isFunction: boolean }[] = [];
  let lastCode = 0;
  let quote: string | null = null; // the string that continues past the end of a line
  let brackets = 0;
  const lines = source.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const lineno = i + 1;
    const continuation = quote !== null || brackets > 0;
    // Track strings and brackets across the whole line, from the state it starts in.
    let j = 0;
    while (j < line.length) {
      if (quote !== null) {
        const end = line.indexOf(quote, j);
        let at = end;
        while (at >= 0 && escaped(line, at)) at = line.indexOf(quote, at + 1);
        if (at < 0) {
          if (quote.length === 1 && !line.endsWith("\\")) quote = null; // an unterminated one-line string
          j = line.length;
          break;
        }
        j = at + quote.length;
        quote = null;
        continue;
      }
      const c = line[j];
      if (c === "#") break;
      if (c === '"' || c === "'") {
        quote = line.startsWith(c + c + c, j) ? c + c + c : c;
        j += quote.length;
        continue;
      }
      if (c === "(" || c === "[" || c === "{") brackets++;
      else if ((c === ")" || c === "]" || c === "}") && brackets > 0) brackets--;
      j++;
    }
    if (continuation) continue;
    const text = line.replace(/^[ \t]+/, "");
    if (text === "" || text.startsWith("#") || text.startsWith("\f")) continue;
    const indent = line.length - text.length;
    while (stack.length && indent <= stack[stack.length - 1].indent) {
      const top = stack.pop()!;
      scopes.push({ first: top.first, last: lastCode, qualname: top.qualname, isFunction: top.isFunction });
    }
    lastCode = lineno;
    let rest = text.startsWith("async ") ? text.slice(6).replace(/^[ \t]+/, "") : text;
    let isFunction: boolean;
    if (/^def[ \t]/.test(rest)) isFunction = true;
    else if (/^class[ \t]/.test(rest)) isFunction = false;
    else continue;
    rest = rest.replace(/^(def|class)[ \t]+/, "");
    const name = NAME.exec(rest)?.[0];
    if (!name) continue;
    const parent = stack[stack.length - 1];
    const qualname = parent ? parent.qualname + (parent.isFunction ? ".<locals>." : ".") + name : name;
    stack.push({ indent, first: lineno, qualname, isFunction });
  }
  while (stack.length) {
    const top = stack.pop()!;
    scopes.push({ first: top.first, last: lastCode, qualname: top.qualname, isFunction: top.isFunction });
  }
  return scopes;
}

function escaped(line: string, at: number): boolean {
  let n = 0;
  for (let k = at - 1; k >= 0 && line[k] === "\\"; k--) n++;
  return n % 2 === 1;
}

/**
 * The qualified name of a frame at `line` whose code object is called `name`: the innermost
 * enclosing scope that ends with it (a nested def's header line runs in the enclosing function);
 * "<listcomp>", "<lambda>"… get their enclosing scope's prefix, as their co_qualname would.
 */
export function qualify(scopes: readonly Scope[], line: number, name: string): string {
  if (name === "<module>") return name;
  const around = scopes.filter((s) => s.first <= line && line <= s.last).sort((a, b) => b.first - a.first);
  if (name.startsWith("<")) {
    const inner = around[0];
    return inner ? inner.qualname + (inner.isFunction ? ".<locals>." : ".") + name : name;
  }
  for (const s of around) if (s.qualname === name || s.qualname.endsWith("." + name)) return s.qualname;
  return name;
}

/** Qualifies frames the agent marked, reading each source file once (bounded cache). */
export class SourceNames {
  private files = new Map<string, Scope[] | null>();

  constructor(private readonly maxFiles = 2048) {}

  scopesOf(file: string): Scope[] | null {
    let scopes = this.files.get(file);
    if (scopes !== undefined) return scopes;
    scopes = null;
    try {
      if (!file.startsWith("<") && fs.statSync(file).size <= MAX_SOURCE_BYTES) scopes = scanScopes(fs.readFileSync(file, "utf8"));
    } catch {
      scopes = null; // not a readable source file: the bare name stays
    }
    if (this.files.size >= this.maxFiles) this.files.clear();
    this.files.set(file, scopes);
    return scopes;
  }

  /** The frames with their names qualified where the agent asked (`qualify`), without that flag. */
  frames(frames: readonly Frame[]): Frame[] {
    return frames.map((f) => {
      if (!f.qualify) return f;
      const scopes = this.scopesOf(f.file);
      return { file: f.file, line: f.line, function: scopes ? qualify(scopes, f.line, f.function) : f.function };
    });
  }
}
