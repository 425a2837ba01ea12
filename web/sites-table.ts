// Every allocation site in one table: sortable, filterable, and virtually
// scrolled (only the rows in view exist in the DOM), so 100,000 rows stay smooth.
import { h } from "./dom.js";
import * as fmt from "./format.js";
import type { Model, Site } from "./model.js";

const ROW_H = 30;
const OVERSCAN = 8;
const VIEW_ROWS = 16;

type Key = "function" | "site" | "pid" | "liveBytes" | "liveCount" | "growthBytes" | "growthBytesPerSec";

interface Column {
  key: Key;
  label: string;
  numeric: boolean;
  cell: (s: Site) => string;
  title?: (s: Site) => string;
}

const COLUMNS: Column[] = [
  { key: "function", label: "Function", numeric: false, cell: (s) => s.site?.function ?? "(unknown)", title: (s) => s.site?.function ?? "" },
  { key: "site", label: "Site", numeric: false, cell: (s) => fmt.frameLocation(s.site, true), title: (s) => fmt.frameLocation(s.site) },
  { key: "pid", label: "PID", numeric: true, cell: (s) => String(s.pid) },
  { key: "liveBytes", label: "Live", numeric: true, cell: (s) => fmt.bytes(s.liveBytes) },
  { key: "liveCount", label: "Objects", numeric: true, cell: (s) => fmt.count(s.liveCount) },
  { key: "growthBytes", label: "Growth", numeric: true, cell: (s) => fmt.signedBytes(s.growthBytes) },
  { key: "growthBytesPerSec", label: "Growth/s", numeric: true, cell: (s) => fmt.rate(s.growthBytesPerSec) },
];

function compare(key: Key): (a: Site, b: Site) => number {
  switch (key) {
    case "function":
      return (a, b) => (a.site?.function ?? "").localeCompare(b.site?.function ?? "") || a.index - b.index;
    case "site":
      return (a, b) => (a.site?.file ?? "").localeCompare(b.site?.file ?? "") || (a.site?.line ?? 0) - (b.site?.line ?? 0) || a.index - b.index;
    default:
      return (a, b) => a[key] - b[key] || a.index - b.index;
  }
}

export class SitesTable {
  readonly el: HTMLElement;
  private sites: Site[] = [];
  private view: Site[] = [];
  private sortKey: Key | null = null;
  private sortDesc = true;
  private query = "";
  private wholeStack = false;
  private showPid = false;
  private selected: string | null = null;
  private haystack: string[] = [];
  private header: HTMLElement;
  private viewport: HTMLElement;
  private spacer: HTMLElement;
  private layer: HTMLElement;
  private pool: HTMLElement[] = [];
  private countEl: HTMLElement;
  private detail: HTMLElement;
  private input: HTMLInputElement;
  private frame = 0;

  constructor() {
    this.input = h("input", { class: "input", attrs: { type: "search", placeholder: "Filter by function or file…", "aria-label": "filter allocation sites" } });
    let timer = 0;
    this.input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => {
        this.query = this.input.value.trim().toLowerCase();
        this.refresh(true);
      }, 120);
    });
    const stackBox = h("input", { attrs: { type: "checkbox" } });
    stackBox.addEventListener("change", () => {
      this.wholeStack = stackBox.checked;
      this.haystack = [];
      this.refresh(true);
    });
    this.countEl = h("span", { class: "muted small table-count" });
    this.header = h("div", { class: "trow thead", role: "row" });
    this.spacer = h("div", { class: "tspacer" });
    this.layer = h("div", { class: "tlayer", role: "rowgroup" });
    this.viewport = h("div", { class: "tviewport", attrs: { tabindex: "0" } }, this.spacer, this.layer);
    this.viewport.style.height = `${VIEW_ROWS * ROW_H}px`;
    this.viewport.addEventListener("scroll", () => this.schedule(), { passive: true });
    this.detail = h("div", { class: "site-detail" });
    this.el = h(
      "div",
      { class: "sites" },
      h("div", { class: "toolbar" }, this.input, h("label", { class: "check small" }, stackBox, "match any frame of the stack"), this.countEl),
      h("div", { class: "table", role: "table", attrs: { "aria-label": "allocation sites" } }, this.header, this.viewport),
      this.detail,
    );
    this.renderHeader();
  }

  update(model: Model): void {
    this.sites = model.sites;
    this.haystack = [];
    const pids = new Set(model.sites.map((s) => s.pid));
    const showPid = pids.size > 1;
    if (showPid !== this.showPid) {
      this.showPid = showPid;
      this.el.classList.toggle("with-pid", showPid);
      this.renderHeader();
    }
    this.refresh(false);
  }

  private columns(): Column[] {
    return COLUMNS.filter((c) => c.key !== "pid" || this.showPid);
  }

  private renderHeader(): void {
    this.header.replaceChildren(
      ...this.columns().map((c) => {
        const active = this.sortKey === c.key;
        const b = h(
          "button",
          {
            class: `th${c.numeric ? " num" : ""}${active ? " sorted" : ""}`,
            role: "columnheader",
            attrs: { type: "button", "aria-sort": active ? (this.sortDesc ? "descending" : "ascending") : "none" },
            data: { key: c.key },
          },
          c.label,
          h("span", { class: "sort-ind" }, active ? (this.sortDesc ? "▼" : "▲") : ""),
        );
        b.addEventListener("click", () => {
          if (this.sortKey === c.key) this.sortDesc = !this.sortDesc;
          else {
            this.sortKey = c.key;
            this.sortDesc = c.numeric;
          }
          this.renderHeader();
          this.refresh(true);
        });
        return b;
      }),
    );
  }

  private text(i: number, s: Site): string {
    let t = this.haystack[i];
    if (t === undefined) {
      const frames = this.wholeStack ? s.stack : s.site ? [s.site] : [];
      t = frames.map((f) => `${f.function} ${f.file}:${f.line}`).join("\n").toLowerCase();
      this.haystack[i] = t;
    }
    return t;
  }

  private refresh(resetScroll: boolean): void {
    const terms = this.query.split(/\s+/).filter(Boolean);
    let rows = terms.length ? this.sites.filter((s) => terms.every((q) => this.text(s.index, s).includes(q))) : this.sites.slice();
    if (this.sortKey) {
      const cmp = compare(this.sortKey);
      rows.sort(this.sortDesc ? (a, b) => cmp(b, a) : cmp);
    }
    this.view = rows;
    this.spacer.style.height = `${rows.length * ROW_H}px`;
    this.viewport.style.height = `${Math.max(3, Math.min(VIEW_ROWS, rows.length)) * ROW_H}px`;
    this.countEl.textContent =
      rows.length === this.sites.length ? `${fmt.count(rows.length)} sites` : `${fmt.count(rows.length)} of ${fmt.count(this.sites.length)} sites`;
    if (resetScroll) this.viewport.scrollTop = 0;
    for (const row of this.pool) delete row.dataset.key; // new data or order: repaint every row
    this.paint();
    if (this.selected) {
      const s = this.sites.find((x) => key(x) === this.selected);
      this.showDetail(s ?? null);
    }
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  private paint(): void {
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || VIEW_ROWS * ROW_H;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(this.view.length, Math.ceil((top + height) / ROW_H) + OVERSCAN);
    const cols = this.columns();
    const needed = last - first;
    while (this.pool.length < needed) {
      const row = h("div", { class: "trow", role: "row" });
      row.addEventListener("click", () => {
        const i = Number(row.dataset.index);
        const s = this.view[i];
        if (!s) return;
        this.selected = key(s);
        this.showDetail(s);
        this.paint();
      });
      this.pool.push(row);
      this.layer.appendChild(row);
    }
    // Index i always uses pool row i % pool.length, so a small scroll leaves most rows untouched.
    const used = new Set<HTMLElement>();
    for (let i = first; i < last; i++) {
      const s = this.view[i];
      const row = this.pool[i % this.pool.length];
      used.add(row);
      row.hidden = false;
      row.classList.toggle("selected", key(s) === this.selected);
      if (row.dataset.index === String(i) && row.dataset.key === key(s) && row.dataset.cols === String(cols.length)) continue;
      row.dataset.index = String(i);
      row.dataset.key = key(s);
      row.dataset.cols = String(cols.length);
      row.style.transform = `translateY(${i * ROW_H}px)`;
      if (row.childElementCount !== cols.length) row.replaceChildren(...cols.map((c) => h("div", { class: `td${c.numeric ? " num" : ""}`, role: "cell" })));
      cols.forEach((c, j) => {
        const cell = row.children[j] as HTMLElement;
        cell.textContent = c.cell(s);
        if (c.title) cell.title = c.title(s);
        if (c.key === "growthBytes" || c.key === "growthBytesPerSec") cell.classList.toggle("pos", s[c.key] > 0);
      });
    }
    for (const row of this.pool) if (!used.has(row)) row.hidden = true;
  }

  private showDetail(s: Site | null): void {
    if (!s) {
      this.detail.replaceChildren();
      return;
    }
    this.detail.replaceChildren(
      h("div", { class: "detail-head" }, h("strong", null, s.site ? `${s.site.function}` : "(unknown site)"), h("span", { class: "muted" }, ` · pid ${s.pid} · live ${fmt.bytes(s.liveBytes)} in ${fmt.countOf(s.liveCount, "allocation")} · growth ${fmt.signedBytes(s.growthBytes)}`)),
      h(
        "ol",
        { class: "stack" },
        s.stack.map((f) => h("li", null, h("span", { class: "fn" }, f.function), h("span", { class: "loc", title: f.file }, fmt.frameLocation(f)))),
      ),
    );
  }
}

function key(s: Site): string {
  return `${s.pid}:${s.stackId}`;
}
