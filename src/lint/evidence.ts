// The evidence, pooled over one project's files, that code runs many times: names of what code
// that runs per call or per request makes and calls ("made" in the worker's answer, see the lint
// script's main.py), matched against what a finding needs.
import path from "node:path";

/** Why a finding whose only evidence is a plain call is of low confidence. */
export const WEAK_EVIDENCE =
  "the only sign that its code runs many times is a call from another function, which may itself run once per process (set-up, a command's main, a build step)";

/** Evidence that says the code runs with data, requests or users, not only that something calls it:
 *  a class offered to users (`public:`), code a request handler runs (`request:`). */
function strongEvidence(name: string, made: Set<string>): boolean {
  return name.startsWith("public:") || name.startsWith("request:") || made.has(`request:${name}`);
}

/** An alternative met with strong evidence: a strong name in it, or only evidence of how long an
 *  object lives (`once:`, `!` names), the code having shown by itself that it runs per request. */
export function strongAlternative(all: string[], made: Set<string>): boolean {
  return all.some((n) => strongEvidence(n, made)) || all.every((n) => n.startsWith("!") || n.startsWith("once:"));
}

/** A class made per call (or per request) makes its bases' constructors and methods run so too:
 *  from the files' "ext:CLASS:BASE" facts, add each base of a class that `made` has, through chains
 *  of bases, also across files (`class Client(BaseClient)` in the app, `BaseClient` in its library). */
export function withBases(made: Set<string>): void {
  const bases = new Map<string, string[]>();
  for (const n of made) {
    if (!n.startsWith("ext:")) continue;
    const [, cls, base] = n.split(":");
    if (!cls || !base) continue;
    const list = bases.get(cls);
    if (list) list.push(base);
    else bases.set(cls, [base]);
  }
  const todo = [...bases.keys()].flatMap((cls) => ["", "request:"].map((prefix) => prefix + cls)).filter((n) => made.has(n));
  while (todo.length) {
    const n = todo.pop()!;
    const prefix = n.startsWith("request:") ? "request:" : "";
    for (const base of bases.get(n.slice(prefix.length)) ?? []) {
      if (!made.has(prefix + base)) {
        made.add(prefix + base);
        todo.push(prefix + base);
      }
    }
  }
}

/** A module's name as the code imports it: its file's name, or its package's for `__init__.py`. */
export function moduleStem(file: string): string {
  const base = path.basename(file);
  if (base === "__init__.py") return path.basename(path.dirname(path.resolve(file)));
  return base.endsWith(".py") ? base.slice(0, -3) : base;
}

/** One project's evidence. A name that several of its files define (every Django command is a
 *  `Command`, many modules have a `Handler`) is met only by calls that say which module's it is
 *  (`import_bod_avl.Command()`, "Command~import_bod_avl"): a `Command` made per request in a view
 *  says nothing of the other commands. */
export class ProjectEvidence {
  readonly made = new Set<string>();
  /** name -> how many files define it at module level ("def:NAME"). */
  private readonly definedIn = new Map<string, number>();

  add(made: readonly string[]): void {
    for (const n of made) {
      if (n.startsWith("def:")) {
        const name = n.slice(4);
        this.definedIn.set(name, (this.definedIn.get(name) ?? 0) + 1);
      } else this.made.add(n);
    }
  }

  /** Once every file is added. */
  finish(): void {
    withBases(this.made);
  }

  /** A finding's needs as they apply to its file: each name the file itself defines and another file
   *  defines too is asked for with its module ("NAME~stem"). */
  needsOf(needs: string[][], file: string, fileMade: readonly string[]): string[][] {
    const own = new Set(fileMade.filter((n) => n.startsWith("def:")).map((n) => n.slice(4)));
    const stem = moduleStem(file);
    return needs.map((all) =>
      all.map((n) => {
        if (n.startsWith("!")) return n;
        const prefix = n.startsWith("request:") ? "request:" : "";
        const name = n.slice(prefix.length);
        return own.has(name) && (this.definedIn.get(name) ?? 0) > 1 ? `${prefix}${name}~${stem}` : n;
      }),
    );
  }

  /** The alternatives of `needs` that the project's evidence meets (a "!NAME" is met when nothing has NAME). */
  met(needs: string[][]): string[][] {
    return needs.filter((all) => all.every((n) => (n.startsWith("!") ? !this.made.has(n.slice(1)) : this.made.has(n))));
  }
}
