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
      label: explained ? label(paths, common, members.length) : first.kind === "native" ? "native memory" : frameLabel(first.site),
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
 * "module app → _REQUEST_LOG keeps RequestContext objects": the root and the container (the
 * first step), and what every path reaches through it (the deepest shared step's kind); when
 * that is a plain container (an lru_cache's dict, keys and values below it), the kind every path
 * ends at, if they agree; one leak's own objects when it is alone.
 */
function label(paths: readonly { root: string; steps: string[] }[], common: readonly string[], sites: number): string {
  const { root, steps } = paths[0]!;
  const where = steps.length ? `${root} → ${stepName(steps[0]!)}` : root;
  let through: string | null = null;
  if (common.length > 1) {
    through = stepKind(common[common.length - 1]!);
    if (through && CONTAINERS.has(through)) {
      const leaves = new Set(paths.map((p) => (p.steps.length > common.length ? stepKind(p.steps[p.steps.length - 1]!) : through)));
      through = leaves.size === 1 ? [...leaves][0]! : null;
    }
  } else if (sites === 1 && steps.length > 1) through = stepKind(steps[steps.length - 1]!);
  return through ? `${where} keeps ${through} objects` : `${where} keeps them alive`;
}
