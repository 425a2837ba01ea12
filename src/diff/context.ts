// The two captures of a diff, read once: their processes (judged, with roles), each
// before-process's counterpart, and site identities relative to each process's directory.
import type { Capture } from "../capture/model.js";
import type { StackAnalysis } from "../analysis/stacks.js";
import type { LeakReport } from "../report/model.js";
import type { Frame } from "../protocol/messages.js";
import { sameSite, siteIdentity, type SiteIdentity } from "./identity.js";
import { processViews, sameProcess, type ProcessView } from "./processes.js";

export interface DiffInput {
  capture: Capture;
  path: string;
}

export class DiffContext {
  readonly beforeViews: ProcessView[];
  readonly afterViews: ProcessView[];
  /** Each before-process's counterpart in the after-run (null: none of its role). */
  readonly peer: Map<ProcessView, ProcessView | null>;
  /** After-leaks already matched to a before-leak. */
  readonly used = new Set<LeakReport>();

  constructor(
    readonly before: DiffInput,
    readonly after: DiffInput,
  ) {
    this.beforeViews = processViews(before.capture);
    this.afterViews = processViews(after.capture);
    const taken = new Set<ProcessView>();
    this.peer = new Map(this.beforeViews.map((b) => [b, sameProcess(b, this.afterViews, taken)] as const));
  }

  /** Identities by frame object (a process's stacks share them), one cache per side. */
  private ids = [new WeakMap<Frame, SiteIdentity>(), new WeakMap<Frame, SiteIdentity>()];

  id(v: ProcessView, f: Frame): SiteIdentity {
    const side = this.beforeViews.includes(v) ? 0 : 1;
    const c = side === 0 ? this.before.capture : this.after.capture;
    const cache = this.ids[side]!;
    let id = cache.get(f);
    if (!id) cache.set(f, (id = siteIdentity(c, v.proc.cwd || c.meta.cwd, f)));
    return id;
  }

  /** Same kind, and the same site (or both without one). */
  sameLeak(x: LeakReport, xv: ProcessView, y: LeakReport, yv: ProcessView): boolean {
    if (x.kind !== y.kind) return false;
    if (x.site === null || y.site === null) return x.site === y.site;
    return sameSite(this.id(xv, x.site), this.id(yv, y.site));
  }

  /** The allocation stacks of a process whose site is `id`. */
  stacksAt(v: ProcessView, id: SiteIdentity): StackAnalysis[] {
    return v.stacks.filter((s) => s.site && sameSite(id, this.id(v, s.site)));
  }

  /** Some stack of the process (allocating or running) passed through one of these functions. */
  ran(v: ProcessView, ids: readonly SiteIdentity[]): boolean {
    const want = new Set(ids.map((id) => `${id.file}\0${id.function}`));
    for (const stack of v.proc.stacks.values()) {
      for (const f of stack) {
        const id = this.id(v, f);
        if (want.has(`${id.file}\0${id.function}`)) return true;
      }
    }
    return false;
  }
}
