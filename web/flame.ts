// An icicle chart of live-memory growth by stack: the outermost frame at the
// top, each frame as wide as the growth allocated beneath it. Canvas-drawn so a
// hundred thousand sites stay fast; hover for figures, click to zoom, search to
// highlight matching frames.
import type { Frame } from "../src/protocol/messages.js";
import { cssVar, h } from "./dom.js";
import * as fmt from "./format.js";
import type { Model, Site } from "./model.js";

const ROW = 20;

export interface FlameNode {
  frame: Frame | null;
  value: number;
  depth: number;
  parent: FlameNode | null;
  children: FlameNode[];
  childMap: Map<Frame, FlameNode> | null;
}

export type Weight = "growth" | "live";

export function buildFlameTree(sites: Site[], weight: Weight): { root: FlameNode; depth: number } {
  const root: FlameNode = { frame: null, value: 0, depth: 0, parent: null, children: [], childMap: new Map() };
  let maxDepth = 0;
  for (const s of sites) {
    const v = weight === "growth" ? s.growthBytes : s.liveBytes;
    if (!(v > 0)) continue;
    root.value += v;
    let node = root;
    for (let i = s.stack.length - 1; i >= 0; i--) {
      const f = s.stack[i];
      const map = (node.childMap ??= new Map());
      let child = map.get(f);
      if (!child) {
        child = { frame: f, value: 0, depth: node.depth + 1, parent: node, children: [], childMap: null };
        map.set(f, child);
        node.children.push(child);
      }
      child.value += v;
      node = child;
    }
    if (node.depth > maxDepth) maxDepth = node.depth;
  }
  const sortTree = (n: FlameNode) => {
    n.children.sort((a, b) => b.value - a.value);
    n.childMap = null;
    n.children.forEach(sortTree);
  };
  sortTree(root);
  return { root, depth: maxDepth };
}

function hash(s: string): number {
  let x = 2166136261;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 16777619);
  return x >>> 0;
}

interface Drawn {
  x: number;
  w: number;
  node: FlameNode;
}

export class FlameChart {
  readonly el: HTMLElement;
  private canvas: HTMLCanvasElement;
  private tip: HTMLElement;
  private crumbs: HTMLElement;
  private summary: HTMLElement;
  private search: HTMLInputElement;
  private weightSel: HTMLSelectElement;
  private root: FlameNode | null = null;
  private depth = 0;
  private focus: FlameNode | null = null;
  private focusPath: (Frame | null)[] = [];
  private rows: Drawn[][] = [];
  private sites: Site[] = [];
  private weight: Weight | null = null;
  private userWeight = false;
  private query = "";
  private hover: FlameNode | null = null;
  private width = 300;
  private ro: ResizeObserver;

  constructor() {
    this.canvas = h("canvas", { class: "flame-canvas", attrs: { "aria-label": "icicle chart of memory growth by stack" } });
    this.tip = h("div", { class: "flame-tip", attrs: { hidden: "" } });
    this.crumbs = h("div", { class: "crumbs" });
    this.summary = h("span", { class: "muted small" });
    this.search = h("input", { class: "input", attrs: { type: "search", placeholder: "Search function or file…", "aria-label": "search the flame chart" } });
    this.weightSel = h(
      "select",
      { class: "input input-select", attrs: { "aria-label": "flame chart weight" } },
      h("option", { attrs: { value: "growth" } }, "Growth of live memory"),
      h("option", { attrs: { value: "live" } }, "Live memory now"),
    );
    const reset = h("button", { class: "btn btn-quiet", attrs: { type: "button" } }, "Reset zoom");
    reset.addEventListener("click", () => this.zoom(this.root));
    this.search.addEventListener("input", () => {
      this.query = this.search.value.trim().toLowerCase();
      this.paint();
    });
    this.weightSel.addEventListener("change", () => {
      this.userWeight = true;
      this.weight = this.weightSel.value as Weight;
      this.rebuild();
    });
    this.el = h(
      "div",
      { class: "flame" },
      h("div", { class: "toolbar" }, this.search, this.weightSel, reset, this.summary),
      this.crumbs,
      h("div", { class: "flame-box" }, this.canvas, this.tip),
    );
    this.canvas.addEventListener("mousemove", (e) => this.onMove(e));
    this.canvas.addEventListener("mouseleave", () => {
      this.hover = null;
      this.tip.setAttribute("hidden", "");
      this.paint();
    });
    this.canvas.addEventListener("click", (e) => {
      const n = this.hit(e);
      if (n) this.zoom(n === this.focus ? n.parent ?? this.root : n);
    });
    this.ro = new ResizeObserver(() => {
      if (Math.max(300, this.el.clientWidth) !== this.width) this.draw();
    });
    this.ro.observe(this.el);
  }

  update(model: Model): void {
    this.sites = model.sites;
    if (!this.userWeight) {
      const anyGrowth = model.sites.some((s) => s.growthBytes > 0);
      this.weight = anyGrowth ? "growth" : "live";
      this.weightSel.value = this.weight;
    }
    this.rebuild();
  }

  private rebuild(): void {
    const { root, depth } = buildFlameTree(this.sites, this.weight ?? "growth");
    this.root = root;
    this.depth = depth;
    // Keep the zoom across live updates by following the same frames down from the new root.
    let focus: FlameNode = root;
    for (const f of this.focusPath) {
      const next = focus.children.find((c) => c.frame === f || (c.frame && f && c.frame.file === f.file && c.frame.line === f.line && c.frame.function === f.function));
      if (!next) break;
      focus = next;
    }
    this.focus = focus;
    this.draw();
  }

  private zoom(n: FlameNode | null): void {
    this.focus = n ?? this.root;
    const path: (Frame | null)[] = [];
    for (let x = this.focus; x && x.parent; x = x.parent) path.unshift(x.frame);
    this.focusPath = path;
    this.draw();
  }

  private label(n: FlameNode): string {
    return n.frame ? n.frame.function : "all";
  }

  private matches(n: FlameNode): boolean {
    if (!this.query || !n.frame) return false;
    return n.frame.function.toLowerCase().includes(this.query) || `${n.frame.file}:${n.frame.line}`.toLowerCase().includes(this.query);
  }

  private renderCrumbs(): void {
    const items: HTMLElement[] = [];
    const chain: FlameNode[] = [];
    for (let x = this.focus; x; x = x.parent) chain.unshift(x);
    chain.forEach((n, i) => {
      const b = h("button", { class: "crumb", attrs: { type: "button" } }, this.label(n));
      b.addEventListener("click", () => this.zoom(n));
      if (i) items.push(h("span", { class: "crumb-sep" }, "›"));
      items.push(b);
    });
    this.crumbs.replaceChildren(...items);
  }

  /** Lays the chart out (after data, zoom or size changed), then paints it. */
  draw(): void {
    this.renderCrumbs();
    this.layout();
    this.paint();
  }

  private layout(): void {
    const root = this.root;
    const focus = this.focus ?? root;
    this.width = Math.max(300, this.el.clientWidth);
    this.rows = [];
    if (!root || !focus || root.value <= 0) return;
    const width = this.width;
    const add = (n: FlameNode, x: number, w: number) => (this.rows[n.depth] ??= []).push({ x, w, node: n });
    // Ancestors of the zoomed frame span the full width above it.
    for (let a = focus.parent; a; a = a.parent) add(a, 0, width);
    const walk = (n: FlameNode, x: number, w: number) => {
      add(n, x, w);
      let cx = x;
      for (const c of n.children) {
        const cw = (c.value / n.value) * w;
        if (cw < 0.4) break; // sorted by value: the rest are narrower still
        walk(c, cx, cw);
        cx += cw;
      }
    };
    walk(focus, 0, width);
  }

  private paint(): void {
    const root = this.root;
    const width = this.width;
    const dpr = devicePixelRatio || 1;
    const ctx = this.canvas.getContext("2d")!;
    const fontFamily = cssVar("--font-sans", "sans-serif");
    const muted = cssVar("--muted");
    if (!root || root.value <= 0 || this.rows.length === 0) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(60 * dpr);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = "60px";
      ctx.scale(dpr, dpr);
      ctx.fillStyle = muted;
      ctx.font = `13px ${fontFamily}`;
      ctx.fillText(this.weight === "growth" ? "No allocation site grew." : "No live allocations recorded.", 12, 34);
      this.summary.textContent = "";
      return;
    }
    const height = this.rows.length * ROW;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = `12px ${fontFamily}`;
    ctx.textBaseline = "middle";
    const textColor = cssVar("--flame-text", "#222");
    const dimColor = cssVar("--flame-dim", "#ddd");
    const matchColor = cssVar("--flame-match", "#7c3aed");
    const ancestorColor = cssVar("--flame-ancestor", "#cbd5e1");
    const rootColor = cssVar("--flame-root", "#94a3b8");
    const charW = ctx.measureText("abcdefghij").width / 10;
    const focusDepth = this.focus?.depth ?? 0;
    const colour = (n: FlameNode): string => {
      if (n.depth < focusDepth) return ancestorColor;
      if (!n.frame) return rootColor;
      if (this.query) return this.matches(n) ? matchColor : dimColor;
      const hue = 8 + (hash(n.frame.file) % 42); // reds through ambers
      const light = 62 + (hash(n.frame.function) % 14);
      return `hsl(${hue} 78% ${light}%)`;
    };
    for (const row of this.rows) {
      if (!row) continue;
      for (const { x, w, node: n } of row) {
        const y = n.depth * ROW;
        ctx.fillStyle = colour(n);
        ctx.fillRect(x + 0.5, y + 0.5, Math.max(0.5, w - 1), ROW - 1);
        if (this.hover === n) {
          ctx.strokeStyle = textColor;
          ctx.lineWidth = 1.5;
          ctx.strokeRect(x + 1, y + 1, Math.max(0.5, w - 2), ROW - 2);
        }
        if (w > 28) {
          const name = this.label(n);
          const room = Math.floor((w - 8) / charW);
          if (room >= 2) {
            ctx.fillStyle = this.query && n.frame && !this.matches(n) && n.depth >= focusDepth ? muted : textColor;
            ctx.fillText(name.length > room ? `${name.slice(0, room - 1)}…` : name, x + 4, y + ROW / 2 + 0.5);
          }
        }
      }
    }
    const total = this.weight === "growth" ? "growth" : "live memory";
    if (this.query) {
      const countMatches = (n: FlameNode): number => (this.matches(n) ? n.value : n.children.reduce((s, c) => s + countMatches(c), 0));
      const matched = countMatches(root);
      this.summary.textContent = `“${this.search.value.trim()}” matches ${fmt.bytes(matched)} (${fmt.percent(matched / root.value)}) of ${fmt.bytes(root.value)} ${total}`;
    } else {
      this.summary.textContent = `${fmt.bytes(root.value)} ${total} across ${fmt.count(this.sites.length)} sites`;
    }
  }

  private hit(e: MouseEvent): FlameNode | null {
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const row = this.rows[Math.floor((e.clientY - r.top) / ROW)];
    if (!row) return null;
    for (const d of row) if (x >= d.x && x < d.x + d.w) return d.node;
    return null;
  }

  private onMove(e: MouseEvent): void {
    const n = this.hit(e);
    if (n !== this.hover) {
      this.hover = n;
      this.paint();
    }
    if (!n || !this.root) {
      this.tip.setAttribute("hidden", "");
      return;
    }
    const parentShare = n.parent ? n.value / n.parent.value : 1;
    this.tip.replaceChildren(h("div", { class: "tip-title" }, this.label(n)));
    if (n.frame) this.tip.appendChild(h("div", { class: "tip-loc" }, `${n.frame.file}:${n.frame.line}`));
    this.tip.appendChild(h("div", null, `${fmt.bytes(n.value)} · ${fmt.percent(n.value / this.root.value)} of all · ${fmt.percent(parentShare)} of caller`));
    this.tip.removeAttribute("hidden");
    const box = this.canvas.getBoundingClientRect();
    const x = e.clientX - box.left;
    const y = e.clientY - box.top;
    const tw = this.tip.offsetWidth;
    this.tip.style.left = `${Math.min(Math.max(0, x + 14), box.width - tw - 4)}px`;
    this.tip.style.top = `${y + 18}px`;
  }
}
