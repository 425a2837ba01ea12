// Retainer paths from the agent, in report form. The agent walks from a sample of
// the live objects allocated at a stack; counts are scaled from that sample to the
// stack's live objects and bytes. Equal paths from merged stacks are added up.
import type { RetainerResult } from "../protocol/messages.js";
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
}

/** Whether the agent searched for retainers at exit: not at all, with no results at all, or with results. */
export type RetainerSearch = "not-run" | "empty" | "ran";

export function retainerSearch(results: readonly RetainerResult[] | null): RetainerSearch {
  return results === null ? "not-run" : results.length === 0 ? "empty" : "ran";
}

export function summarizeRetainers(inputs: readonly RetainerInput[], search: RetainerSearch): RetainerSummary {
  const byText = new Map<string, RetainerReport>();
  let unreachable = false;
  let note: string | undefined;
  let any = false;
  for (const { result, liveBytes, liveCount } of inputs) {
    if (!result) continue;
    // The first stack with a result (the largest of a merged leak) says whether it is reachable.
    if (!any) unreachable = result.unreachable;
    any = true;
    if (!note && result.note) note = result.note;
    const sampled = result.sampled > 0 ? result.sampled : 0;
    const count = liveCount > 0 ? liveCount : result.found;
    for (const p of result.paths) {
      const share = sampled ? p.objects / sampled : 0;
      const objects = sampled ? Math.round(share * count) : p.objects;
      const bytes = sampled && liveBytes > 0 ? Math.round(share * liveBytes) : p.bytes;
      const text = p.steps.length ? `${p.root} → ${p.steps.join(" → ")}` : p.root;
      const seen = byText.get(text);
      if (seen) {
        seen.objects += objects;
        seen.bytes += bytes;
      } else {
        byText.set(text, { root: p.root, rootKind: p.rootKind, path: [...p.steps], text, objects, bytes });
      }
    }
  }
  const retainers = [...byText.values()].sort((a, b) => b.objects - a.objects || b.bytes - a.bytes);
  if (!any) {
    note =
      search === "ran"
        ? "retainers were searched only for the top leak candidates; this stack was not among them"
        : search === "empty"
          ? "the retainer search at exit returned nothing (it may have run out of time on a large heap)"
          : "retainers were not searched: the program did not reach a normal exit while leakhound was attached";
  }
  return { retainers, unreachable, ...(note ? { note } : {}) };
}
