// One leak of the before-run, found again in the after-run or not: still leaking, fixed
// (only with the evidence of src/diff/evidence.ts), or inconclusive.
import type { StackAnalysis } from "../analysis/stacks.js";
import type { LeakReport } from "../report/model.js";
import { THRESHOLDS } from "../analysis/thresholds.js";
import { formatRate, frameLabel } from "../analysis/format.js";
import type { DiffContext } from "./context.js";
import { afterRunPower, rateGone } from "./evidence.js";
import type { DiffEntry, DiffSide, DiffStatus } from "./model.js";
import { commandLine } from "../report/units.js";
import type { ProcessView } from "./processes.js";

export function classifyBeforeLeak(ctx: DiffContext, b: ProcessView, leak: LeakReport): DiffEntry {
  const id = leak.site ? ctx.id(b, leak.site) : null;
  const entry = (status: DiffStatus, reason: string, after: DiffSide | null): DiffEntry => ({
    status,
    kind: leak.kind,
    code: id?.code ?? null,
    before: leakSide(leak),
    after,
    reason,
  });
  const a = ctx.peer.get(b) ?? null;
  if (!a) return entry("inconclusive", `the after-run has no process like pid ${b.proc.pid} (${commandLine(b.proc.argv)})`, null);

  const again = findAgain(ctx, b, a, leak);
  if (again) {
    ctx.used.add(again);
    return entry("still-leaking", `still leaks in the after-run: ${again.evidence}`, leakSide(again));
  }

  const matched = id && leak.kind === "python" ? ctx.stacksAt(a, id) : [];
  const after = stacksSide(a, matched);
  const leastLeak = leak.kind === "native" ? THRESHOLDS.nativeMinBytes : THRESHOLDS.minGrowthBytes;
  const power = afterRunPower(a.tl, leak.growthBytesPerSec, matched, leastLeak);
  if (!power.ok) return entry("inconclusive", power.text, after);
  const unsure = matched.find((s) => s.judgement.verdict === "unknown");
  if (unsure) return entry("inconclusive", `the after-run is unsure about ${frameLabel(unsure.site)}: ${unsure.judgement.reason}`, after);
  if (!rateGone(after.growthBytesPerSec, leak.growthBytesPerSec)) {
    const rates = `${formatRate(leak.growthBytesPerSec)} → ${formatRate(after.growthBytesPerSec)}`;
    return entry("inconclusive", `the site still grows in the after-run (${rates}), though not judged a leak`, after);
  }
  if (matched.length) {
    return entry("fixed", `${power.text}; there it grew at ${formatRate(after.growthBytesPerSec)} (${matched[0]!.judgement.reason})`, after);
  }
  if (!id) {
    // Growth with no one site (spread over small stacks, or native memory beside the heap).
    const { verdict, reason } = a.result.summary;
    return verdict === "no-leak"
      ? entry("fixed", `${power.text}; the after-run's process is judged no leak`, after)
      : entry("inconclusive", `the after-run's process is ${verdict}: ${reason}`, after);
  }
  const callers = [leak.site!, ...leak.stack.slice(0, 3)].map((f) => ctx.id(b, f));
  if (!ctx.ran(a, callers)) {
    return entry("inconclusive", `the after-run never ran ${id.function} (${id.file}): the code or the workload differs too much to tell`, after);
  }
  return entry("fixed", `${power.text}; no memory allocated at this line stays alive in the after-run, though ${id.function} ran`, after);
}

/**
 * The same leak in the counterpart, else in another process of the same role (a pool's workers
 * share the work differently from run to run), one not matched yet first. Native growth found
 * from RSS is named by the stack that ran while it grew, which differs from run to run: any
 * native leak there is the same leak.
 */
function findAgain(ctx: DiffContext, b: ProcessView, a: ProcessView, leak: LeakReport): LeakReport | undefined {
  const peers = [a, ...ctx.afterViews.filter((v) => v !== a && v.role === a.role)];
  const find = (ok: (l: LeakReport, v: ProcessView) => boolean) => {
    for (const fresh of [true, false]) {
      for (const v of peers) {
        const l = v.result.leaks.find((x) => ctx.used.has(x) !== fresh && ok(x, v));
        if (l) return l;
      }
    }
    return undefined;
  };
  return find((l, v) => ctx.sameLeak(leak, b, l, v)) ?? (leak.kind === "native" ? find((l) => l.kind === "native") : undefined);
}

export function leakSide(l: LeakReport): DiffSide {
  return { pid: l.pid, site: l.site, growthBytes: l.growthBytes, growthBytesPerSec: l.growthBytesPerSec, liveBytes: l.liveBytes, leak: true };
}

/** A site's figures over the stacks that allocate there (none: nothing there stays alive). */
export function stacksSide(v: ProcessView, stacks: readonly StackAnalysis[]): DiffSide {
  let growthBytes = 0;
  let rate = 0;
  let liveBytes = 0;
  for (const s of stacks) {
    growthBytes += Math.max(0, s.features.netGrowth);
    rate += Math.max(0, s.features.slope);
    liveBytes += s.liveBytes;
  }
  return { pid: v.proc.pid, site: stacks[0]?.site ?? null, growthBytes, growthBytesPerSec: rate, liveBytes, leak: false };
}
