// Growth into a container that holds at most so many items (a deque with maxlen, an lru_cache with
// maxsize) that was not full yet when the retainers were searched: memory that grows now and levels
// off once the container is full. Not a leak, unless the container's bound, at the size its items
// have, is more memory than a process can spend (then it is a leak in practice, and says so).
import type { BoundedGrowth, LeakReport, RetainerReport } from "../report/model.js";
import { formatBytes, formatCount } from "../report/units.js";
import { stepKind, stepName } from "./causes.js";
import { frameLabel } from "./format.js";

/** Share of a leak's explained objects that must sit in containers that are not full yet. */
const BOUNDED_SHARE = 0.8;
/** Projected memory at the bound above which a bounded container is still called a leak. */
export const BOUNDED_MAX_BYTES = 1024 ** 3;

interface Container {
  /** "module __main__ → HISTORY" */
  text: string;
  /** "deque", "lru_cache render": what the container is */
  kind: string;
  limit: number;
  size: number;
  objects: number;
}

/** The containers a leak's paths go through that hold at most so many items, by their path prefix. */
function containers(retainers: readonly RetainerReport[]): { bounded: Container[]; objects: number } {
  const byText = new Map<string, Container>();
  let objects = 0;
  for (const r of retainers) {
    objects += r.objects;
    const b = r.bound;
    if (!b || b.size >= b.limit || b.step >= r.path.length) continue;
    const step = r.path[b.step];
    const text = [r.root, ...r.path.slice(0, b.step), stepName(step)].join(" → ");
    const seen = byText.get(text);
    if (seen) {
      seen.objects += r.objects;
      seen.size = Math.max(seen.size, b.size);
    } else byText.set(text, { text, kind: stepKind(step) ?? "container", limit: b.limit, size: b.size, objects: r.objects });
  }
  return { bounded: [...byText.values()].sort((a, b) => b.objects - a.objects), objects };
}

/**
 * A leak whose objects (BOUNDED_SHARE of those its paths explain) are held by containers that hold
 * at most so many items and were not full: its memory at the bound, projected from its live bytes
 * (items of the size they have now). Null when it is not such growth.
 */
export function boundedGrowth(leak: LeakReport): BoundedGrowth | null {
  if (leak.unreachable || leak.retainers.length === 0) return null;
  const { bounded, objects } = containers(leak.retainers);
  const held = bounded.reduce((s, c) => s + c.objects, 0);
  if (!bounded.length || objects <= 0 || held < BOUNDED_SHARE * objects) return null;
  // Each container's share of the leak's live bytes, scaled from its items now to its limit.
  let projectedBytes = 0;
  for (const c of bounded) projectedBytes += (leak.liveBytes * (c.objects / held) * c.limit) / Math.max(1, c.size);
  const c = bounded[0];
  const where = leak.site ? frameLabel(leak.site) : "its site";
  const text =
    `${c.text} (${c.kind} of at most ${formatCount(c.limit)}, ${formatCount(c.size)} now): ${where}'s memory levels off when it is full, ` +
    `at about ${formatBytes(projectedBytes)}${bounded.length > 1 ? ` (with ${bounded.length - 1} more such container${bounded.length > 2 ? "s" : ""})` : ""}`;
  return {
    pid: leak.pid,
    site: leak.site,
    stackId: leak.stackId,
    container: c.text,
    limit: c.limit,
    size: c.size,
    liveBytes: leak.liveBytes,
    growthBytesPerSec: leak.growthBytesPerSec,
    projectedBytes,
    leak: projectedBytes > BOUNDED_MAX_BYTES,
    text,
  };
}

/**
 * The leaks that are growth into containers not full yet, taken out (bounded) unless their bound is
 * more memory than BOUNDED_MAX_BYTES: those stay leaks, their evidence saying so.
 */
export function splitBounded(leaks: readonly LeakReport[]): { leaks: LeakReport[]; bounded: BoundedGrowth[] } {
  const kept: LeakReport[] = [];
  const bounded: BoundedGrowth[] = [];
  for (const leak of leaks) {
    const b = boundedGrowth(leak);
    if (!b) kept.push(leak);
    else if (b.leak) kept.push({ ...leak, evidence: `${leak.evidence}; into a bounded container, but ${b.text}: more than a process can spend` });
    else bounded.push(b);
  }
  return { leaks: kept, bounded: bounded.sort((a, b) => b.projectedBytes - a.projectedBytes) };
}
