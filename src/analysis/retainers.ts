// Retainer paths from the agent, in report form. The agent estimates each path's live
// objects and bytes from every sampled object of the stack, each weighted by its own
// sampling probability, with a standard error (or counts them exactly in the containers
// the walk reached). Captures from agents that sent no estimate fall back to splitting the
// stack's live count and bytes by the path's share of the explained objects, marked
// approximate. Equal paths from merged stacks are added up (errors in quadrature).
import type { RetainerPath, RetainerResult } from "../protocol/messages.js";
import type { RetainerReport } from "../report/model.js";

export interface RetainerSummary {
  retainers: RetainerReport[];
  unreachable: boolean;
  note?: string;
}

export interface RetainerInput {
  result: RetainerResult | undefined;
  liveBytes: number;
  liveCount: number;
  /** The search that gave `result` stopped at its time budget. */
  truncated?: boolean;
}

/**
 * Whether the agent searched for retainers (explanations.ts): not at all, with no results at all, or
 * with results; "freed-first": not at all, though the program exited in order (when it began to exit,
 * its cleanup had already freed what leaked, and no search ran while it ran).
 */
export type RetainerSearch = "not-run" | "freed-first" | "empty" | "ran";

/** Why a process that exited in order had no search at all (retainers, and native leaks' owners). */
export const FREED_FIRST =
  "when the program began to exit, its cleanup had already freed this memory, and the run ended before a search while it ran (one runs once a leak is certain, after a few seconds)";

/** One path's figures, from the agent's estimate or, without one, split from the stack's live figures. */
export function pathFigures(
  p: RetainerPath,
  result: RetainerResult,
  liveBytes: number,
  liveCount: number,
): Pick<RetainerReport, "objects" | "bytes" | "objectsError" | "bytesError" | "exact" | "approximate"> {
  if (isCount(p.estObjects) && isCount(p.estBytes)) {
    if (p.exact === true) return { objects: p.estObjects, bytes: p.estBytes, exact: true };
    return {
      objects: p.estObjects,
      bytes: p.estBytes,
      objectsError: isCount(p.errObjects) ? p.errObjects : 0,
      bytesError: isCount(p.errBytes) ? p.errBytes : 0,
      exact: false,
    };
  }
  // An older agent: the path's share of the explained objects, times the stack's live figures.
  const sampled = result.sampled > 0 ? result.sampled : 0;
  const count = liveCount > 0 ? liveCount : result.found;
  const share = sampled ? p.objects / sampled : 0;
  return {
    objects: sampled ? Math.round(share * count) : p.objects,
    bytes: sampled && liveBytes > 0 ? Math.round(share * liveBytes) : p.bytes,
    approximate: true,
  };
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x) && x >= 0;
}

export function summarizeRetainers(inputs: readonly RetainerInput[], search: RetainerSearch): RetainerSummary {
  const byText = new Map<string, RetainerReport>();
  let unreachable = false;
  let note: string | undefined;
  let any = false;
  let explained = 0;
  let sampled = 0;
  // The first stack with paths (the largest of a merged leak that has any), else the first with a
  // result, says whether it is reachable and gives the note: a stack where nothing was found does
  // not call a leak unreachable that its other stacks' paths explain.
  const decider = inputs.find((i) => i.result && i.result.paths.length > 0)?.result ?? inputs.find((i) => i.result)?.result;
  if (decider) {
    unreachable = decider.unreachable;
    note = decider.note || undefined;
  }
  for (const { result, liveBytes, liveCount } of inputs) {
    if (!result) continue;
    any = true;
    if (result.paths.length) {
      explained += Math.max(0, result.sampled);
      sampled += Math.max(0, result.found, result.sampled);
    }
    for (const p of result.paths) {
      const figures = pathFigures(p, result, liveBytes, liveCount);
      const text = p.steps.length ? `${p.root} → ${p.steps.join(" → ")}` : p.root;
      const seen = byText.get(text);
      if (seen) byText.set(text, addFigures(seen, figures));
      else byText.set(text, { root: p.root, rootKind: p.rootKind, path: [...p.steps], text, ...figures, ...(validBound(p) ? { bound: { ...p.bound! } } : {}) });
    }
  }
  const rooted = [...byText.values()].some((r) => !LOOSE_ROOTS.has(r.rootKind));
  const retainers = [...byText.values()].sort((a, b) => rankWeight(b, rooted) - rankWeight(a, rooted) || b.bytes - a.bytes);
  if (explained < sampled) for (const r of retainers) r.traced = { explained, sampled };
  if (any && retainers.length === 0 && !note && !unreachable) note = inputs.some((i) => i.result && i.truncated) ? CUT_SHORT : NONE_ALIVE;
  if (!any) {
    note =
      search === "ran"
        ? "retainers were searched only for the top leak candidates; this stack was not among them"
        : search === "empty"
          ? "the retainer search at exit returned nothing (it may have run out of time on a large heap)"
          : search === "freed-first"
            ? `retainers were not searched: ${FREED_FIRST}`
          : "retainers were not searched: the program did not reach a normal exit while leakhound was attached";
  }
  return { retainers, unreachable, ...(note ? { note } : {}) };
}

/** A search that ran and found none of the stack's sampled objects alive (and said nothing more). */
export const NONE_ALIVE =
  "the search found none of its sampled objects still alive: they were freed before it ran (at the end of the program's main function or event loop, or by its cleanup)";

/** The same, when that search stopped at its time budget: it may not have reached them. */
export const CUT_SHORT =
  "the search stopped at its time budget before it found any of its sampled objects (a big heap, or a loaded machine); `--retainer-timeout` gives it longer";

/** Roots no Python object explains: an object nothing refers to, one held outside the heap. */
const LOOSE_ROOTS: ReadonlySet<string> = new Set(["no referrer", "gc-tracked"]);

/**
 * A path's weight in the order paths are listed: its objects, halved for one that ends at a weak
 * reference whose object lives (logging's weak tables of its handlers). The weak reference is kept
 * only while that object is, so the path that keeps the object says why, and comes first when it
 * keeps half as many or more. Halved too, when the stack's other paths start at a real root (`rooted`),
 * for an object nothing refers to: most likely held by a C object on those paths that does not show
 * its references to gc (a StringIO's buffer list before 3.12), so the path to that object says why.
 */
function rankWeight(r: RetainerReport, rooted: boolean): number {
  const half = /\(weakref to [^()]*\)$/.test(r.text) || (rooted && LOOSE_ROOTS.has(r.rootKind));
  return half ? r.objects / 2 : r.objects;
}

/** Two stacks' figures for one path: sums, errors in quadrature, exact only when both are. */
function addFigures(a: RetainerReport, b: ReturnType<typeof pathFigures>): RetainerReport {
  const out: RetainerReport = { ...a, objects: a.objects + b.objects, bytes: a.bytes + b.bytes };
  delete out.objectsError;
  delete out.bytesError;
  delete out.exact;
  delete out.approximate;
  if (a.approximate || b.approximate) {
    out.approximate = true;
    return out;
  }
  const exact = a.exact === true && b.exact === true;
  out.exact = exact;
  if (!exact) {
    out.objectsError = Math.hypot(a.objectsError ?? 0, b.objectsError ?? 0);
    out.bytesError = Math.hypot(a.bytesError ?? 0, b.bytesError ?? 0);
  }
  return out;
}

/** A path's bound as the agent sent it, when well formed (an older or damaged capture may lack it). */
function validBound(p: RetainerPath): boolean {
  const b = p.bound;
  return !!b && Number.isInteger(b.limit) && b.limit > 0 && Number.isInteger(b.size) && b.size >= 0 && Number.isInteger(b.step) && b.step >= 0 && b.step < p.steps.length;
}
