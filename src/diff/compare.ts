// Two captures → one DiffReport. Every leak of the before-run is found again in the
// after-run (same process role, same site: src/diff/identity.ts) and called still
// leaking, fixed (only when the after-run could have seen it: src/diff/evidence.ts),
// or inconclusive; leaks of the after-run that match none of the before-run are new.
import type { Capture } from "../capture/model.js";
import type { StackAnalysis } from "../analysis/stacks.js";
import type { LeakReport } from "../report/model.js";
import type { Frame } from "../protocol/messages.js";
import { formatRate, frameLabel } from "../analysis/format.js";
import { afterRunPower, rateGone } from "./evidence.js";
import { analyze } from "../analysis/analyze.js";
import { THRESHOLDS } from "../analysis/thresholds.js";
import { sameSite, siteIdentity, type SiteIdentity } from "./identity.js";
import { DIFF_SCHEMA, type DiffEntry, type DiffReport, type DiffSide, type DiffStatus } from "./model.js";
import { processViews, sameProcess, type ProcessView } from "./processes.js";

export interface DiffInput {
  capture: Capture;
  path: string;
}

const ORDER: DiffStatus[] = ["fixed", "still-leaking", "new", "inconclusive"];

export function diffCaptures(before: DiffInput, after: DiffInput, version: string): DiffReport {
  const bv = processViews(before.capture);
  const av = processViews(after.capture);
  const taken = new Set<ProcessView>();
  const peer = new Map(bv.map((b) => [b, sameProcess(b, av, taken)] as const));
  const idOf = (c: Capture, v: ProcessView, f: Frame) => siteIdentity(c, v.proc.cwd || c.meta.cwd, f);
  const sameLeak = (a: LeakReport, av_: ProcessView, b: LeakReport, bv_: ProcessView) =>
    a.kind === b.kind &&
    (a.site === null || b.site === null
      ? a.site === b.site
      : sameSite(idOf(before.capture, av_, a.site), idOf(after.capture, bv_, b.site)));
  const stacksAt = (c: Capture, v: ProcessView, id: SiteIdentity) => v.stacks.filter((s) => s.site && sameSite(id, idOf(c, v, s.site)));

  const entries: DiffEntry[] = [];
  const used = new Set<LeakReport>();
  for (const b of bv) {
    const a = peer.get(b) ?? null;
    for (const leak of b.result.leaks) {
      const id = leak.site ? idOf(before.capture, b, leak.site) : null;
      const entry = (status: DiffStatus, reason: string, afterSide: DiffSide | null): DiffEntry => ({
        status,
        kind: leak.kind,
        code: id?.code ?? null,
        before: leakSide(leak),
        after: afterSide,
        reason,
      });
      if (!a) {
        entries.push(entry("inconclusive", `the after-run has no process like pid ${b.proc.pid} (${b.proc.argv.join(" ")})`, null));
        continue;
      }
      // The same leak in the counterpart, else in another process of the same role (a pool's
      // workers share the work differently from run to run), one not yet matched first. Native
      // growth found from RSS is named by the stack that ran while it grew, which differs from
      // run to run: any native leak there is the same leak.
      const peers = [a, ...av.filter((v) => v !== a && v.role === a.role)];
      const find = (ok: (l: LeakReport, v: ProcessView) => boolean) => {
        for (const fresh of [true, false]) {
          for (const v of peers) {
            const l = v.result.leaks.find((x) => used.has(x) !== fresh && ok(x, v));
            if (l) return l;
          }
        }
        return undefined;
      };
      const again = find((l, v) => sameLeak(leak, b, l, v)) ?? (leak.kind === "native" ? find((l) => l.kind === "native") : undefined);
      if (again) {
        used.add(again);
        entries.push(entry("still-leaking", `still leaks in the after-run: ${again.evidence}`, leakSide(again)));
        continue;
      }
      const matched = id && leak.kind === "python" ? stacksAt(after.capture, a, id) : [];
      const afterSide = stacksSide(a, matched);
      const power = afterRunPower(a.tl, leak.growthBytesPerSec, matched, leak.kind === "native" ? THRESHOLDS.nativeMinBytes : THRESHOLDS.minGrowthBytes);
      if (!power.ok) {
        entries.push(entry("inconclusive", power.text, afterSide));
        continue;
      }
      const unsure = matched.find((s) => s.judgement.verdict === "unknown");
      if (unsure) {
        entries.push(entry("inconclusive", `the after-run is unsure about ${frameLabel(unsure.site)}: ${unsure.judgement.reason}`, afterSide));
        continue;
      }
      if (!rateGone(afterSide.growthBytesPerSec, leak.growthBytesPerSec)) {
        const rates = `${formatRate(leak.growthBytesPerSec)} → ${formatRate(afterSide.growthBytesPerSec)}`;
        entries.push(entry("inconclusive", `the site still grows in the after-run (${rates}), though not judged a leak`, afterSide));
        continue;
      }
      if (matched.length) {
        const said = matched[0]!.judgement.reason;
        entries.push(entry("fixed", `${power.text}; there it grew at ${formatRate(afterSide.growthBytesPerSec)} (${said})`, afterSide));
      } else if (!id) {
        // Growth with no one site (spread over small stacks, or native memory beside the heap).
        if (a.result.summary.verdict === "no-leak") entries.push(entry("fixed", `${power.text}; the after-run's process is judged no leak`, afterSide));
        else entries.push(entry("inconclusive", `the after-run's process is ${a.result.summary.verdict}: ${a.result.summary.reason}`, afterSide));
      } else if (!ran(after.capture, a, [leak.site!, ...leak.stack.slice(0, 3)].map((f) => idOf(before.capture, b, f)), idOf)) {
        entries.push(entry("inconclusive", `the after-run never ran ${id.function} (${id.file}): the code or the workload differs too much to tell`, afterSide));
      } else {
        entries.push(entry("fixed", `${power.text}; no memory allocated at this line stays alive in the after-run, though ${id.function} ran`, afterSide));
      }
    }
  }

  const before4 = new Map([...peer].filter(([, a]) => a).map(([b, a]) => [a!, b] as const));
  for (const a of av) {
    for (const leak of a.result.leaks) {
      if (used.has(leak)) continue;
      const b = before4.get(a);
      const id = leak.site ? idOf(after.capture, a, leak.site) : null;
      const was = b && id && leak.kind === "python" ? stacksAt(before.capture, b, id) : [];
      const had = was.length ? "; the before-run allocated there without leaking" : "";
      entries.push({
        status: "new",
        kind: leak.kind,
        code: id?.code ?? null,
        before: b && was.length ? stacksSide(b, was) : null,
        after: leakSide(leak),
        reason: `leaks in the after-run only: ${leak.evidence}${had}`,
      });
    }
  }
  entries.sort((x, y) => ORDER.indexOf(x.status) - ORDER.indexOf(y.status) || rateOf(y) - rateOf(x));

  const counts = Object.fromEntries(ORDER.map((s) => [s, entries.filter((e) => e.status === s).length])) as Record<DiffStatus, number>;
  // The verdict and duration the capture's own report gives.
  const summary = (input: DiffInput) => {
    const report = analyze(input.capture);
    return { capture: input.path, verdict: report.verdict, durationSec: report.durationSec };
  };
  return {
    schema: DIFF_SCHEMA,
    tool: { name: "leakhound", version },
    before: summary(before),
    after: summary(after),
    counts,
    entries,
  };
}

function rateOf(e: DiffEntry): number {
  return (e.before ?? e.after)?.growthBytesPerSec ?? 0;
}

function leakSide(l: LeakReport): DiffSide {
  return { pid: l.pid, site: l.site, growthBytes: l.growthBytes, growthBytesPerSec: l.growthBytesPerSec, liveBytes: l.liveBytes, leak: true };
}

/** A site's figures over the stacks that allocate there (none: nothing there stays alive). */
function stacksSide(v: ProcessView, stacks: readonly StackAnalysis[]): DiffSide {
  let growthBytes = 0;
  let rate = 0;
  let liveBytes = 0;
  for (const s of stacks) {
    growthBytes += Math.max(0, s.features.netGrowth);
    rate += Math.max(0, s.features.slope);
    liveBytes += s.liveBytes;
  }
  const site = stacks[0]?.site ?? null;
  return { pid: v.proc.pid, site, growthBytes, growthBytesPerSec: rate, liveBytes, leak: false };
}

/** Some stack of the process (allocating or running) passed through one of these functions. */
function ran(c: Capture, v: ProcessView, ids: readonly SiteIdentity[], idOf: (c: Capture, v: ProcessView, f: Frame) => SiteIdentity): boolean {
  const want = new Set(ids.map((id) => `${id.file}\0${id.function}`));
  for (const stack of v.proc.stacks.values()) {
    for (const f of stack) {
      const id = idOf(c, v, f);
      if (want.has(`${id.file}\0${id.function}`)) return true;
    }
  }
  return false;
}
