// The processes of one capture as `diff` reads them: each judged by the analysis,
// with its allocation stacks' judgements, and a role that finds "the same process"
// in another capture (pids change from run to run).
import type { Capture, ProcessCapture } from "../capture/model.js";
import { topProcess } from "../analysis/analyze.js";
import { analyzeProcess, type ProcessResult } from "../analysis/process.js";
import { analyzeStacks, timeline, type StackAnalysis, type Timeline } from "../analysis/stacks.js";

export interface ProcessView {
  proc: ProcessCapture;
  /** "top" for the process the user started; else its command with numbers masked. */
  role: string;
  result: ProcessResult;
  tl: Timeline;
  stacks: StackAnalysis[];
}

export function processViews(capture: Capture): ProcessView[] {
  const top = topProcess(capture.processes);
  return capture.processes.map((proc) => {
    const tl = timeline(proc);
    return {
      proc,
      role: proc === top ? "top" : proc.argv.join(" ").replace(/\d+/g, "N"),
      result: analyzeProcess(proc),
      tl,
      stacks: proc.samples.length ? analyzeStacks(proc, tl) : [],
    };
  });
}

/** The process of `others` with the role of `view` (each taken once, in order). */
export function sameProcess(view: ProcessView, others: readonly ProcessView[], taken: Set<ProcessView>): ProcessView | null {
  const match = others.find((o) => o.role === view.role && !taken.has(o)) ?? others.find((o) => o.role === view.role) ?? null;
  if (match) taken.add(match);
  return match;
}
