// Two captures → one DiffReport. Every leak of the before-run is found again in the
// after-run (same process role, same site: src/diff/identity.ts) and called still
// leaking, fixed or inconclusive (src/diff/classify.ts); leaks of the after-run that
// match none of the before-run are new.
import { analyze } from "../analysis/analyze.js";
import { classifyBeforeLeak, leakSide, stacksSide } from "./classify.js";
import { DiffContext, type DiffInput } from "./context.js";
import { DIFF_SCHEMA, type DiffEntry, type DiffReport, type DiffStatus } from "./model.js";

export type { DiffInput } from "./context.js";

const ORDER: DiffStatus[] = ["fixed", "still-leaking", "new", "inconclusive"];

export function diffCaptures(before: DiffInput, after: DiffInput, version: string): DiffReport {
  const ctx = new DiffContext(before, after);
  const entries: DiffEntry[] = [];
  for (const b of ctx.beforeViews) for (const leak of b.result.leaks) entries.push(classifyBeforeLeak(ctx, b, leak));
  entries.push(...newLeaks(ctx));
  const rate = (e: DiffEntry) => (e.before ?? e.after)?.growthBytesPerSec ?? 0;
  entries.sort((x, y) => ORDER.indexOf(x.status) - ORDER.indexOf(y.status) || rate(y) - rate(x));

  const counts = Object.fromEntries(ORDER.map((s) => [s, entries.filter((e) => e.status === s).length])) as Record<DiffStatus, number>;
  // The verdict and duration the capture's own report gives.
  const summary = (input: DiffInput) => {
    const report = analyze(input.capture);
    return { capture: input.path, verdict: report.verdict, durationSec: report.durationSec };
  };
  return { schema: DIFF_SCHEMA, tool: { name: "leakhound", version }, before: summary(before), after: summary(after), counts, entries };
}

/** Leaks of the after-run that no before-leak was matched to. */
function newLeaks(ctx: DiffContext): DiffEntry[] {
  const counterpart = new Map([...ctx.peer].flatMap(([b, a]) => (a ? [[a, b] as const] : [])));
  const out: DiffEntry[] = [];
  for (const a of ctx.afterViews) {
    for (const leak of a.result.leaks) {
      if (ctx.used.has(leak)) continue;
      const b = counterpart.get(a);
      const id = leak.site ? ctx.id(a, leak.site) : null;
      const was = b && id && leak.kind === "python" ? ctx.stacksAt(b, id) : [];
      out.push({
        status: "new",
        kind: leak.kind,
        code: id?.code ?? null,
        before: b && was.length ? stacksSide(b, was) : null,
        after: leakSide(leak),
        reason: `leaks in the after-run only: ${leak.evidence}${was.length ? "; the before-run allocated there without leaking" : ""}`,
      });
    }
  }
  return out;
}
