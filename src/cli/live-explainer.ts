// Live explanations: the host asks a running process for a retainer search, so a
// report can say why a leak stays alive even when the process never reaches a
// normal exit (a worker terminated by its pool, a service killed by a signal or by
// the OOM killer). Asked for:
//  - as soon as the analysis is sure a stack leaks, and again when a new stack
//    becomes sure or the last answer is old, within a bounded share of the
//    process's time (the search pauses its sampling, and costs CPU); not under
//    the tracemalloc collector, whose searches pause the program far longer;
//  - on demand (the live view's "Explain now", `leakhound explain PID`);
//  - right before --duration stops the target.
// Each answer is recorded with its time (the recorder writes it to the capture).
import type { Explanation, ProcessCapture } from "../capture/model.js";
import type { Recorder } from "../capture/recorder.js";
import type { AgentServer } from "../host/agent-server.js";
import { freeListTargets, nativeRetainerTargets, retainerTargets } from "../analysis/targets.js";
import { THRESHOLDS } from "../analysis/thresholds.js";

export interface ExplainPolicy {
  /** Least seconds between two looks at a process's leaks (more when the analysis is slow). */
  checkEverySec: number;
  /** An answer older than this is renewed while the process still leaks. */
  refreshSec: number;
  /** Share of a process's lifetime its live searches may take. */
  budgetShare: number;
  /** Stacks per search. */
  maxStacks: number;
}

export const EXPLAIN_POLICY: ExplainPolicy = { checkEverySec: 2, refreshSec: 60, budgetShare: 0.05, maxStacks: 5 };

/**
 * Seconds a search takes per live allocation, before one has been measured: the C walk of the
 * sampling collector's extension, which is what runs live searches, takes 0.2–0.3 µs an object
 * on 2 million objects (bench/retainers_2m.py --live; the walk from Python took 0.8–1.5 µs).
 */
const SEARCH_SEC_PER_BLOCK = 0.4e-6;
/** A first search expected to take no longer than this runs at once, whatever the budget. */
const CHEAP_SEARCH_SEC = 0.25;

interface ProcessState {
  nextCheck: number;
  explained: Set<number>;
  lastAnswer: number;
  spentSec: number;
  firstSeen: number;
  /** The last search's seconds and the live allocations then, to foresee the next one's. */
  lastCost: { sec: number; blocks: number } | null;
}

/** Live allocations (sampled estimate) of a process: the size of the heap a search walks. */
function liveBlocks(proc: ProcessCapture): number {
  let n = 0;
  for (const s of proc.sites.values()) n += s.lastCount ?? 0;
  return n;
}

export class LiveExplainer {
  private server: AgentServer | null = null;
  private states = new Map<number, ProcessState>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private recorder: Recorder,
    private policy: ExplainPolicy = EXPLAIN_POLICY,
    private now: () => number = () => performance.now() / 1000,
  ) {}

  /** The agent server, once it listens; `auto`: also look for leaks to explain by itself. */
  attach(server: AgentServer, auto: boolean): void {
    this.server = server;
    if (!auto) return;
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private state(pid: number): ProcessState {
    let s = this.states.get(pid);
    if (!s) this.states.set(pid, (s = { nextCheck: 0, explained: new Set(), lastAnswer: -Infinity, spentSec: 0, firstSeen: this.now(), lastCost: null }));
    return s;
  }

  /** One look at every running process: ask for a search where the policy says so. */
  tick(): void {
    const server = this.server;
    if (!server) return;
    const now = this.now();
    for (const pid of server.connectedPids()) {
      const st = this.state(pid);
      if (server.busy(pid) || now < st.nextCheck) continue;
      const proc = this.recorder.process(pid);
      if (!proc || proc.samples.length < THRESHOLDS.minSamples) continue;
      // Under tracemalloc every allocation of the search is traced: it pauses the
      // program's threads for up to a second, so only searches asked for run then.
      if (proc.collector.name === "tracemalloc") continue;
      const started = performance.now();
      let targets: number[] = [];
      let native: number[] = [];
      try {
        targets = retainerTargets(proc, this.policy.maxStacks, true);
        native = nativeRetainerTargets(proc, this.policy.maxStacks, true);
      } catch {
        targets = [];
      }
      // A slow analysis (a huge run) looks less often: at most ~5% of the host's time.
      const cost = (performance.now() - started) / 1000;
      st.nextCheck = now + Math.max(this.policy.checkEverySec, 20 * cost);
      if (targets.length + native.length === 0) continue;
      const fresh = targets.some((id) => !st.explained.has(id)) || native.some((id) => !st.explained.has(-1 - id));
      const old = now - st.lastAnswer >= this.policy.refreshSec;
      // A search pauses the program's threads about as long as it runs: foresee its
      // cost from the heap (or the last search) and keep the total within the share.
      const blocks = liveBlocks(proc);
      const expected = st.lastCost
        ? st.lastCost.sec * (st.lastCost.blocks > 0 ? Math.max(1, blocks / st.lastCost.blocks) : 1)
        : blocks * SEARCH_SEC_PER_BLOCK;
      const affordable =
        st.spentSec + expected <= this.policy.budgetShare * Math.max(0, now - st.firstSeen) ||
        (st.explained.size === 0 && expected <= CHEAP_SEARCH_SEC);
      if ((fresh || old) && affordable) void this.ask(pid, targets, "live", blocks, native);
    }
  }

  /** `blocks`: the process's live allocations when asked (the size of the heap the search walks). */
  private async ask(
    pid: number,
    targets: number[],
    reason: Explanation["reason"],
    blocks: number,
    native: number[] = [],
  ): Promise<Explanation | null> {
    const server = this.server;
    if (!server) return null;
    const st = this.state(pid);
    const proc = this.recorder.process(pid);
    const freeList = proc ? freeListTargets(proc, targets) : [];
    const e = await server.explain(pid, targets, reason, native, freeList);
    st.lastAnswer = this.now();
    if (e) {
      st.spentSec += e.elapsedSec;
      st.lastCost = { sec: e.elapsedSec, blocks };
      for (const id of targets) st.explained.add(id);
      // Native stacks share the ids' space: kept apart as -1 - id.
      for (const id of native) st.explained.add(-1 - id);
    }
    return e;
  }

  /**
   * Explains now, whatever the policy says: every running process, or one. The stacks
   * are the leak candidates (the doubtful ones too). Resolves with the answers.
   */
  async explainNow(
    reason: "request" | "before-stop",
    pid?: number,
  ): Promise<{ pid: number; explanation: Explanation | null; note?: string }[]> {
    const server = this.server;
    if (!server) return [];
    const pids = pid === undefined ? server.connectedPids() : server.connectedPids().filter((p) => p === pid);
    return Promise.all(
      pids.map(async (p) => {
        const proc = this.recorder.process(p);
        const targets = proc ? retainerTargets(proc, this.policy.maxStacks) : [];
        const native = proc ? nativeRetainerTargets(proc, this.policy.maxStacks) : [];
        if (targets.length + native.length === 0) return { pid: p, explanation: null, note: "no leak candidate to explain yet" };
        // One in flight at a time: wait for the one under way, then ask.
        for (let i = 0; i < 200 && server.busy(p); i++) await new Promise((r) => setTimeout(r, 100));
        const explanation = await this.ask(p, targets, reason, proc ? liveBlocks(proc) : 0, native);
        return { pid: p, explanation, ...(explanation ? {} : { note: "the process did not answer (it exited, or is busy)" }) };
      }),
    );
  }
}
