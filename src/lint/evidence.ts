// The evidence, pooled over one project's files, that code runs many times: names of what code
// that runs per call or per request makes and calls ("made" in the worker's answer, see the lint
// script's main.py), matched against what a finding needs.
import path from "node:path";

/** Why a finding whose only evidence is a plain call is of low confidence. */
export const WEAK_EVIDENCE =
  "the only sign that its code runs many times is a call from another function, which may itself run once per process (set-up, a command's main, a build step)";

/** Evidence that says the code runs with data, requests or users, not only that something calls it:
 *  a class offered to users (`public:`), code a request handler runs (`request:`). */
function strongEvidence(name: string, has: (n: string) => boolean): boolean {
  if (name.startsWith("public:") || name.startsWith("request:")) return true;
  // `.create` called by a request's handler is a call of some object's `create`: of any class.
  return !name.startsWith(".") && has(`request:${name}`);
}

/** An alternative met with strong evidence: a strong name in it, or only evidence of how long an
 *  object lives (`once:`, `!` names), the code having shown by itself that it runs per request. */
export function strongAlternative(all: string[], has: (n: string) => boolean): boolean {
  return all.some((n) => strongEvidence(n, has)) || all.every((n) => n.startsWith("!") || n.startsWith("once:"));
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
  // A class made as "Sub~module" makes its bases so too; the bases' modules are not known.
  const classOf = (n: string) => n.slice(requestPrefix(n).length).split("~")[0]!;
  const todo = [...made].filter((n) => !n.startsWith("ext:") && bases.has(classOf(n)) && (!n.includes(":") || n.startsWith("request:")));
  while (todo.length) {
    const n = todo.pop()!;
    const prefix = requestPrefix(n);
    for (const base of bases.get(classOf(n)) ?? []) {
      if (!made.has(prefix + base)) {
        made.add(prefix + base);
        todo.push(prefix + base);
      }
    }
  }
}

/** How a name says a request's handler made or ran it: "request:kept:" (an object it keeps using),
 *  "request:", or "" (see the lint script's runs.py). */
function requestPrefix(n: string): string {
  return n.startsWith("request:kept:") ? "request:kept:" : n.startsWith("request:") ? "request:" : "";
}

/** A module's name as the code imports it: its file's name, or its package's for `__init__.py`. */
export function moduleStem(file: string): string {
  const base = path.basename(file);
  if (base === "__init__.py") return path.basename(path.dirname(path.resolve(file)));
  return base.endsWith(".py") ? base.slice(0, -3) : base;
}

/** The names of the modules a file's code can be imported as: its own, and its folders' up to the
 *  project's folder (`from app import Command` names the package that re-exports it). */
export function moduleNames(file: string, project: string): Set<string> {
  const names = new Set([moduleStem(file)]);
  let dir = path.dirname(path.resolve(file));
  const top = path.resolve(project);
  while (dir.startsWith(top + path.sep) || dir === top) {
    names.add(path.basename(dir));
    if (dir === top) break;
    dir = path.dirname(dir);
  }
  return names;
}

/** Whether a call's dotted module ("utils", "opencompass.utils") can name `file`'s code: a one-part
 *  name is one of moduleNames; a longer one is a run of the file's folders and own name, in order,
 *  that ends at or below the project's folder (its first parts may be above it, as when a package's
 *  subfolder is linted alone). `from opencompass.utils import get_logger` names
 *  `opencompass/utils/logging.py` (the package re-exports its modules' names), not
 *  `opencompass/openicl/utils/logging.py`. */
export function moduleMatcher(file: string, project: string): (module: string) => boolean {
  const names = moduleNames(file, project);
  const abs = path.resolve(file);
  const folders = path.dirname(abs).split(path.sep).filter(Boolean);
  const parts = path.basename(abs) === "__init__.py" ? folders : [...folders, moduleStem(file)];
  const first = path.resolve(project).split(path.sep).filter(Boolean).length - 1; // the project folder's index
  return (module: string) => {
    const want = module.split(".");
    if (want.length === 1) return names.has(module);
    for (let i = 0; i + want.length <= parts.length; i++) {
      if (i + want.length - 1 >= first && want.every((w, k) => parts[i + k] === w)) return true;
    }
    return false;
  };
}

/** One project's evidence. A call that says which module it runs ("NAME~module": a call through an
 *  import, or of a function defined in the caller's module) counts for a NAME defined in a file that
 *  can be imported under that module's name (moduleMatcher), not for every NAME of the project:
 *  `structlog.get_logger()` is no evidence for the project's own `get_logger`. A bare NAME (the call
 *  does not say) counts for any, unless several files define that name (every Django command is a
 *  `Command`): then only a call that names its module does. A class a package offers
 *  ("public:NAME@pkg", with "public:NAME@pkg~module" when it is imported from one) likewise. */
export class ProjectEvidence {
  readonly made = new Set<string>();
  /** name -> the files (absolute) that define it at module level ("def:NAME"). */
  private readonly definedAt = new Map<string, string[]>();
  /** NAME (with its "request:" prefix) -> the modules that calls named for it. */
  private readonly qualified = new Map<string, Set<string>>();
  /** CLASS -> what its constructor makes ("init:CLASS:NAME", NAME maybe "NAME~module"), with the file. */
  private readonly inits = new Map<string, { made: string; file: string }[]>();

  constructor(private readonly folder: string) {}

  /** One file's "made" names. */
  add(made: readonly string[], file: string): void {
    for (const n of made) {
      if (n.startsWith("def:")) {
        const name = n.slice(4);
        const at = this.definedAt.get(name);
        if (at) at.push(path.resolve(file));
        else this.definedAt.set(name, [path.resolve(file)]);
      } else if (n.startsWith("init:")) {
        const [, cls, what] = n.split(":");
        if (!cls || !what) continue;
        const list = this.inits.get(cls);
        const entry = { made: what, file: path.resolve(file) };
        if (list) list.push(entry);
        else this.inits.set(cls, [entry]);
      } else this.made.add(n);
    }
  }

  /** A class made per call (or per request) makes per call what its constructor makes (`Handler()` per
   *  request, whose `__init__` makes a `Model()`), through chains of constructors and bases: for each
   *  made name whose class has "init:" facts, the constructor's own class only, the one in the module the
   *  name says ("Window~app.window"), or, for a bare name, the one class of that name in the project. */
  private withConstructed(): void {
    const matchers = new Map<string, (module: string) => boolean>();
    const inModule = (file: string, module: string) => {
      let m = matchers.get(file);
      if (!m) matchers.set(file, (m = moduleMatcher(file, this.folder)));
      return m(module);
    };
    const todo = [...this.made].filter((n) => !n.includes(":") || n.startsWith("request:"));
    while (todo.length) {
      const n = todo.pop()!;
      const prefix = requestPrefix(n);
      const [cls, module] = n.slice(prefix.length).split("~") as [string, string | undefined];
      for (const init of this.inits.get(cls) ?? []) {
        const ours = module !== undefined ? inModule(init.file, module) : this.definedBy(cls) <= 1;
        if (!ours || this.made.has(prefix + init.made)) continue;
        this.made.add(prefix + init.made);
        todo.push(prefix + init.made);
      }
    }
  }

  /** How many files define `name`: in the project, or only in `where` (a package's folder, or a file). */
  private definedBy(name: string, where?: string): number {
    const files = this.definedAt.get(name) ?? [];
    return where === undefined ? files.length : files.filter((f) => f === where || f.startsWith(where + path.sep)).length;
  }

  /** Once every file is added. */
  finish(): void {
    // Bases and constructors, until neither adds a name (a base's constructor may make more).
    for (let size = -1; size !== this.made.size; ) {
      size = this.made.size;
      withBases(this.made);
      this.withConstructed();
    }
    for (const n of this.made) {
      const at = n.lastIndexOf("~");
      if (at < 0) continue;
      const name = n.slice(0, at);
      let modules = this.qualified.get(name);
      if (!modules) this.qualified.set(name, (modules = new Set()));
      modules.add(n.slice(at + 1));
    }
  }

  /** How a finding in `file` (which defines `fileMade`'s "def:" names) asks whether a name was made. */
  lookup(file: string, fileMade: readonly string[]): (n: string) => boolean {
    const own = new Set(fileMade.filter((n) => n.startsWith("def:")).map((n) => n.slice(4)));
    const names = moduleMatcher(file, this.folder);
    return (n: string) => {
      const name = n.slice(requestPrefix(n).length);
      const theirs = this.qualified.get(n);
      if (theirs && [...theirs].some(names)) return true;
      // A bare call: of any NAME, unless several files define this file's NAME. "public:Config@/app/pkg",
      // the class Config offered by the package in /app/pkg: unless several of its files define a Config
      // (then only the one the package imports from its module, "~module", above).
      const at = name.startsWith("public:") ? name.indexOf("@") : -1;
      const [cls, where] = at < 0 ? [name, undefined] : [name.slice("public:".length, at), name.slice(at + 1)];
      return this.made.has(n) && !(own.has(cls) && this.definedBy(cls, where) > 1);
    };
  }

  /** The alternatives of `needs` met in `file` (a "!NAME" is met when nothing has NAME). */
  met(needs: string[][], has: (n: string) => boolean): string[][] {
    return needs.filter((all) => all.every((n) => (n.startsWith("!") ? !has(n.slice(1)) : has(n))));
  }
}
