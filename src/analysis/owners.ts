// Native leaks with a Python owner. The host asks the agent about a native leak's stack
// (`nativeStackIds`); the agent answers with the Python objects that own the stack's sampled
// malloc blocks (an ndarray's data, a PIL image's pixels), the native bytes they hold and the
// retainer paths to them (agent: retainers/owners.py). A native leak keeps kind "native" and
// gains `owner` and `retainers`; with no owner it says so, with its allocating stack.
import type { ProcessCapture } from "../capture/model.js";
import type { Frame } from "../protocol/messages.js";
import type { LeakReport, ThreadFigures } from "../report/model.js";
import { formatCount, isNoPythonFrame } from "../report/units.js";
import { explainedAt, explainedStacks, type ExplainedStacks } from "./explanations.js";
import { FREED_FIRST, summarizeRetainers } from "./retainers.js";

export const NO_OWNER = "native, no Python object owns it";

/** Whether a stack holds no Python frame (the agent's "<unknown>" frame only): C code allocated while its thread ran no Python. */
export function noPythonFrame(frames: readonly Frame[]): boolean {
  return frames.every(isNoPythonFrame);
}

/**
 * What a native leak with no Python frame is: memory C code allocated while its thread ran no
 * Python (a thread's start or end, a C library's own thread). When the process's threads pile up
 * meanwhile, that is most likely each new thread's own memory.
 */
/** The same, beside owners that explain part of it: "allocated while its thread ran no Python code, as threads grew 2 → 661". */
export function noPythonFrameEvidence(threads: ThreadFigures): string {
  return `allocated while its thread ran no Python code, as the process's threads grew from ${formatCount(threads.start)} to ${formatCount(threads.end)}: most likely each new thread's own memory`;
}

export function noPythonFrameNote(threads: ThreadFigures | undefined): string {
  const base = "allocated by C code while its thread ran no Python code (a thread starting or ending, or a C library's own thread)";
  if (!threads?.growing) return `${base}: no Python line or object to name`;
  return `${base}; the process's threads grew from ${formatCount(threads.start)} to ${formatCount(threads.end)} meanwhile: most likely each new thread's own memory (its state and the first pages of its stack), so look for threads that are started and never end (the Thread objects' leak names where)`;
}

/** The owner fields of a native leak at one stack (what replaces "no retainer paths"). */
export function nativeOwnerFields(
  proc: ProcessCapture,
  member: { stackId: number; liveBytes: number; liveCount: number },
  explained: ExplainedStacks = explainedStacks(proc),
): Pick<LeakReport, "retainers" | "unreachable" | "retainerNote" | "owner" | "explainedAt"> {
  const answer = explained.byNativeId.get(member.stackId);
  if (!answer) {
    const note =
      explained.search === "not-run"
        ? "its Python owners were not searched: the program did not reach a normal exit while leakhound was attached"
        : explained.search === "freed-first"
          ? `its Python owners were not searched: ${FREED_FIRST}`
          : "its Python owners were searched only for the top native leak candidates; this stack was not among them";
    return { retainers: [], unreachable: false, retainerNote: note };
  }
  const r = answer.result;
  if (r.found === 0 || r.paths.length === 0) return { retainers: [], unreachable: false, retainerNote: r.note || NO_OWNER };
  const summary = summarizeRetainers([{ result: r, liveBytes: member.liveBytes, liveCount: member.liveCount }], "ran");
  const at = explainedAt(proc, answer);
  const by = r.ownedBy === "stack" ? "stack" : "pointer";
  return {
    retainers: summary.retainers,
    unreachable: summary.unreachable,
    ...(r.note ? { retainerNote: r.note } : {}),
    owner: {
      by,
      types: by === "pointer" ? (r.owners ?? []).map((o) => ({ ...o })) : [],
      ...(by === "pointer" && typeof r.reached === "number" ? { reached: r.reached } : {}),
    },
    ...(at ? { explainedAt: at } : {}),
  };
}
