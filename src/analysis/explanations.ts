// Which retainer search answers for each stack. A process may be explained several
// times: while it runs (when a leak became certain, again when an answer grew old,
// on request, right before --duration stopped it) and at its orderly exit. The
// latest answer that found something speaks for a stack; a later empty one (a
// search cut short) does not erase it. The report says when that answer was taken
// when it was not at the very end ("explained at 00:41, 19 s before the process
// was killed").
import type { ExplainReason, Explanation, ProcessCapture } from "../capture/model.js";
import type { RetainerResult } from "../protocol/messages.js";
import type { ExplainedAt } from "../report/model.js";
import { formatClock, formatSec } from "../report/units.js";
import type { RetainerSearch } from "./retainers.js";

export interface StackAnswer {
  result: RetainerResult;
  explanation: Explanation;
}

export interface ExplainedStacks {
  byId: Map<number, StackAnswer>;
  /** Answers for native stacks (their Python owners: analysis/owners.ts), by stack id. */
  byNativeId: Map<number, StackAnswer>;
  search: RetainerSearch;
}

function foundSomething(r: RetainerResult): boolean {
  return r.paths.length > 0 || r.found > 0 || r.unreachable;
}

export function explainedStacks(proc: ProcessCapture): ExplainedStacks {
  const byId = new Map<number, StackAnswer>();
  const byNativeId = new Map<number, StackAnswer>();
  let any = false;
  for (const explanation of proc.explanations) {
    for (const result of explanation.results) {
      any = true;
      const map = result.native ? byNativeId : byId;
      const seen = map.get(result.stackId);
      // A later answer that finds no holder (garbage awaiting collection, or nothing referring to
      // them: the program's cleanup, asyncio.run cancelling the tasks that held them, had begun) does
      // not replace one that found what held them; unreachable cycles kept because gc is disabled do.
      const replaces = !seen || ((foundSomething(result) || !foundSomething(seen.result)) && !(holderless(result) && reachable(seen.result)));
      if (replaces) map.set(result.stackId, { result, explanation });
    }
  }
  const search: RetainerSearch = proc.explanations.length === 0 ? (proc.exited ? "freed-first" : "not-run") : any ? "ran" : "empty";
  return { byId, byNativeId, search };
}

/** The agent's NOTE_GC_DISABLED (retainers/__init__.py): cycles that only a disabled gc keeps. */
const GC_DISABLED = "unreachable reference cycle kept only because gc is disabled";

/** Objects found with no holder: unreachable, and not because gc is disabled. */
function holderless(r: RetainerResult): boolean {
  return r.unreachable && !(r.note ?? "").startsWith(GC_DISABLED);
}

function reachable(r: RetainerResult): boolean {
  return !r.unreachable && r.paths.length > 0;
}

/** How the process ended, as the end of "… s before the process …". */
function endWords(proc: ProcessCapture): string {
  if (proc.exited) return "before it exited";
  if (proc.signal === "SIGKILL") return "before the process was killed";
  if (proc.signal === "SIGTERM") return "before the process was terminated";
  if (proc.signal === "SIGINT") return "before the process was interrupted";
  if (proc.signal) return `before the process ended (${proc.signal})`;
  return "before the process ended";
}

const REASON_WORDS: Record<ExplainReason, string> = {
  exit: "at exit",
  live: "while it ran",
  request: "on request, while it ran",
  "before-stop": "right before leakhound stopped it",
  shutdown: "as it began to shut down, before its cleanup",
};

/**
 * When the answer for a leak was taken, for the report; null when it was the exit
 * search (the paths then describe the very end) or its time is not known.
 */
export function explainedAt(proc: ProcessCapture, answer: StackAnswer | undefined): ExplainedAt | null {
  if (!answer || answer.explanation.reason === "exit" || answer.explanation.t === null) return null;
  const t = answer.explanation.t;
  const end = proc.samples.length ? proc.samples[proc.samples.length - 1]!.t : t;
  const beforeEndSec = Math.max(0, end - t);
  const reason = answer.explanation.reason;
  const ago = beforeEndSec < 1 ? "moments" : formatSec(beforeEndSec);
  const text = proc.running
    ? `explained at ${formatClock(t)} ${REASON_WORDS[reason]}${beforeEndSec < 1 ? "" : `, ${ago} ago`}`
    : `explained at ${formatClock(t)} ${REASON_WORDS[reason]}, ${ago} ${endWords(proc)}`;
  return { reason, t, beforeEndSec, text };
}
