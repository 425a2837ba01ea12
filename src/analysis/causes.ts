// Leaks grouped by cause. Allocation sites whose objects are kept alive along the same
// reference path prefix (the same root and the same first step: one module global, one
// class attribute, one thread's local) are one bug, however many lines allocate what it
// keeps: "module app → _REQUEST_LOG keeps RequestContext objects; 9 allocation sites".
// A site without an explanation (no path found, unreachable, native memory no Python object
// owns) is a cause of its own. Computed once here; every output (terminal, JSON, HTML) reads the result.
import type { CauseReport, LeakReport } from "../report/model.js";
import { frameLabel } from "./format.js";

/** A path step without its figures: "_REQUEST_LOG (dict, 4,548 items)" → "_REQUEST_LOG". */
export function stepName(step: string): string {
  return step.replace(/\s*\([^()]*\)\s*$/, "").trim() || step;
}

const COUNTS = {
  items: /\(\w[^(),]*, ([\d,]+)(?:–[\d,]+)? items?\)\s*$/,
  bytes: /\(\w[^(),]*, ([\d,]+)(?:–[\d,]+)? bytes?\)\s*$/,
};

/** The count a step names in `unit` ("._scheduled (list, 2 items)" → 2, a range's lower end); Infinity when it names none. */
export function stepCount(step: string, unit: keyof typeof COUNTS): number {
  const m = COUNTS[unit].exec(step);
  return m ? Number(m[1]!.replace(/,/g, "")) : Infinity;
}

/** The item count a step names ("._scheduled (list, 2 items)" → 2); Infinity when it names none. */
export function itemCount(step: string): number {
  return stepCount(step, "items");
}

/** The kind a step names in parentheses: "[*] (RequestContext)" → "RequestContext"; null when none. */
export function stepKind(step: string): string | null {
  const m = /\(([^()]*)\)\s*$/.exec(step);
  const kind = m?.[1]?.split(",")[0]?.trim();
  return kind ? kind : null;
}

/**
 * The reference path a leak's cause is known by: its largest one. Null when it has none. A native
 * leak's paths lead to the Python objects that own its memory (numpy arrays, images): the same
 * container as the Python leak of those objects' own memory, so one cause with it.
 */
function mainPath(leak: LeakReport): { root: string; steps: string[] } | null {
  if (leak.unreachable || (leak.kind !== "python" && !leak.owner)) return null;
  const top = leak.retainers[0];
  return top ? { root: top.root, steps: top.path } : null;
}

/** What groups leaks: the path's root and first step (the container), per process unless merged across processes. */
function causeKey(leak: LeakReport, path: { root: string; steps: string[] }): string {
  const owner = leak.group ? `group:${leak.group.label}` : `pid:${leak.pid}`;
  return [owner, path.root, path.steps.length ? stepName(path.steps[0]!) : ""].join("\u0000");
}

/**
 * Groups ranked leaks (best first) into causes, in the order their first leak ranks.
 * Returns the causes and the leaks, each with its `cause` id; the input is not changed.
 */
export function groupCauses(leaks: readonly LeakReport[]): { causes: CauseReport[]; leaks: LeakReport[] } {
  const groups = new Map<string, { members: LeakReport[]; paths: { root: string; steps: string[] }[] }>();
  const order: string[] = [];
  for (const leak of leaks) {
    const path = mainPath(leak);
    const key = path ? causeKey(leak, path) : `site\u0000${leak.pid}\u0000${leak.kind}\u0000${leak.rank}\u0000${leak.stackId}`;
    let g = groups.get(key);
    if (!g) {
      groups.set(key, (g = { members: [], paths: [] }));
      order.push(key);
    }
    g.members.push(leak);
    if (path) g.paths.push(path);
  }
  const causes: CauseReport[] = [];
  const idOf = new Map<LeakReport, string>();
  order.forEach((key, i) => {
    const { members, paths } = groups.get(key)!;
    const id = `C${i + 1}`;
    for (const m of members) idOf.set(m, id);
    const explained = paths.length > 0;
    const common = explained ? commonSteps(paths.map((p) => p.steps)) : [];
    const first = members[0]!;
    const sum = (f: (l: LeakReport) => number) => members.reduce((s, l) => s + f(l), 0);
    const cause: CauseReport = {
      id,
      rank: i + 1,
      explained,
      label: explained ? label(paths[0]!, members) : first.kind === "native" ? "native memory" : frameLabel(first.site),
      root: explained ? paths[0]!.root : null,
      path: common.map(stepName),
      leaks: members.map((m) => m.rank),
      sites: members.length,
      growthBytes: sum((l) => l.growthBytes),
      growthBytesPerSec: sum((l) => l.growthBytesPerSec),
      liveBytes: sum((l) => l.liveBytes),
      confidence: Math.max(...members.map((l) => l.confidence)),
      ...(members.every((m) => m.freedAtExit) ? { freedAtExit: true } : {}),
    };
    causes.push(cause);
  });
  return { causes, leaks: leaks.map((l) => ({ ...l, cause: idOf.get(l)! })) };
}

/** Two steps name the same reference when their names and kinds agree (their figures may not). */
function sameStep(a: string, b: string): boolean {
  return stepName(a) === stepName(b) && stepKind(a) === stepKind(b);
}

/** The longest run of steps (by name and kind) every path starts with; at least the first step, which all share. */
function commonSteps(all: readonly string[][]): string[] {
  const first = all[0] ?? [];
  let n = first.length;
  for (const steps of all.slice(1)) {
    let k = 0;
    while (k < n && k < steps.length && sameStep(steps[k]!, first[k]!)) k++;
    n = k;
  }
  return first.slice(0, Math.max(n, Math.min(1, first.length)));
}

/** Kinds that only hold what a cause keeps: "keeps dict objects" would name the holder, not the held. */
const CONTAINERS = new Set(["dict", "list", "set", "frozenset", "tuple", "deque", "OrderedDict", "defaultdict"]);

/**
 * A step to a container: a plain kind, or one the agent counts items of (a subclass) reached by a
 * name (`._mock_mock_calls (_CallList, 42,500 items)`); one reached as an item of another
 * (`[*] (_Call, 3 items)`) is what that container keeps.
 */
function isContainer(step: string): boolean {
  if (CONTAINERS.has(stepKind(step) ?? "")) return true;
  const name = stepName(step);
  return itemCount(step) !== Infinity && !/^(\[.*\]|member|key|value)$/.test(name);
}

/**
 * "module app → _REQUEST_LOG keeps RequestContext objects": the root and the container (the
 * first step), and what the cause keeps through it, read from every path of its sites that
 * passes through that container: the deepest step they all share, when it is more than the
 * container and not a plain one; else (an lru_cache's dict with its keys and values, a
 * registry's dict of loggers with their lists) the kind of the step right below what they share
 * that holds most of their objects.
 */
function label(main: { root: string; steps: string[] }, members: readonly LeakReport[]): string {
  const first = main.steps[0];
  if (!first) return `${main.root} keeps them alive`;
  const paths = members
    .flatMap((m) => m.retainers)
    .filter((r) => r.root === main.root && r.path.length > 0 && stepName(r.path[0]!) === stepName(first));
  const common = commonSteps(paths.map((r) => r.path));
  const table = tableBelow(common, Math.max(0, ...paths.map((r) => r.objects)));
  const where = table > 0 ? `${main.root} → ${stepName(first)} … → ${stepName(common[table]!)}` : `${main.root} → ${stepName(first)}`;
  let through: string | null = null;
  const last = common[common.length - 1]!;
  const deepest = common.length > 1 ? heldKind(last) : null;
  // An item of the container (`[*] (dict, 2 items)`: each request's record) is what it keeps, even
  // of a plain kind; a named step of a plain kind (`cache (dict)`) holds what is below it.
  if (deepest && (!isContainer(last) || (/^(\[.*\]|member|value)$/.test(stepName(last)) && isContainer(common[common.length - 2]!))))
    through = deepest;
  else {
    const weight = new Map<string, number>();
    let total = 0;
    for (const r of paths) {
      const below = r.path[common.length];
      if (below === undefined) continue;
      const kind = isContainer(below) ? "" : (heldKind(below) ?? "");
      const w = Math.max(1, r.objects);
      weight.set(kind, (weight.get(kind) ?? 0) + w);
      total += w;
    }
    for (const [kind, w] of weight) if (kind && w > total / 2) through = kind;
    if (!through && deepest && paths.every((r) => r.path.length === common.length)) through = deepest;
  }
  if (!through) return `${where} keeps them alive`;
  return /^class(es)? /.test(through) || through === "classes" ? `${where} keeps ${through}` : `${where} keeps ${through} objects`;
}

/**
 * The index of the step two or more below the first where what the cause keeps piles up, when the
 * first steps are only the way there: the first shared step that counts items, as many as a tenth of the largest
 * path's objects, below a first step that counts fewer or none (an event loop, its one timer, a
 * task's context, then `[ContextVar 'trail'] (list, 73,480 items)`). 0 when the first step is that.
 */
function tableBelow(common: readonly string[], objects: number): number {
  const big = (s: string) => itemCount(s) !== Infinity && itemCount(s) * 10 >= objects;
  if (common.length < 2 || big(common[0]!)) return 0;
  const k = common.findIndex((s, i) => i > 0 && big(s));
  return k > 1 ? k : 0; // right below the first step, the first step names it well enough
}

/** A step's kind as what a cause keeps: classes of many names (made per call) are one kind, "classes". */
function heldKind(step: string): string | null {
  const kind = stepKind(step);
  return kind && kind.startsWith("classes ") ? "classes" : kind;
}
