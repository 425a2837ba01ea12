// The app: one page for both data sources. update() takes a fresh model (the
// static report calls it once; the live view on every push) and keeps the
// user's state — zoom, sort, filter, scroll, open panels — across updates.
import { renderBanner, renderMemoryFigures } from "./banner.js";
import { h } from "./dom.js";
import { FlameChart } from "./flame.js";
import * as fmt from "./format.js";
import { leakKey, renderLeakCard } from "./leak-card.js";
import { MemoryChart } from "./memory-chart.js";
import type { Model } from "./model.js";
import { SitesTable } from "./sites-table.js";
import { commandLine } from "../src/report/units.js";
import { renderTests } from "./tests-card.js";

export type LiveState = "connecting" | "waiting" | "live" | "final" | "disconnected";
export type Status = { mode: "static" } | { mode: "live"; state: LiveState; at: number; seq?: number };

function section(id: string, title: string, ...body: (Node | null)[]): { el: HTMLElement; title: HTMLElement } {
  const t = h("h2", null, title);
  return { el: h("section", { class: "section", id }, h("div", { class: "section-head" }, t), ...body), title: t };
}

export class App {
  private root: HTMLElement;
  private pill: HTMLElement;
  private version: HTMLElement;
  private bannerSlot: HTMLElement;
  private memFigs: HTMLElement;
  private leaksList: HTMLElement;
  private testsSlot: HTMLElement;
  private testsSection: HTMLElement;
  private leaksTitle: HTMLElement;
  private leaksNav: HTMLElement;
  private chart: MemoryChart;
  private flame: FlameChart;
  private table: SitesTable;
  private footer: HTMLElement;
  private content: HTMLElement;
  private placeholder: HTMLElement;
  private open = new Set<string>();
  private status: Status = { mode: "static" };
  private updates = 0;
  private explainBox: HTMLElement;
  private explainButton: HTMLButtonElement;
  private explainNote: HTMLElement;

  constructor(root: HTMLElement) {
    this.root = root;
    this.pill = h("span", { class: "pill", attrs: { "aria-live": "polite" } });
    this.version = h("span", { class: "brand-version" });
    this.leaksNav = h("a", { attrs: { href: "#leaks" } }, "Leaks");
    const nav = h(
      "nav",
      { class: "nav" },
      h("a", { attrs: { href: "#overview" } }, "Overview"),
      h("a", { attrs: { href: "#memory" } }, "Memory"),
      this.leaksNav,
      h("a", { attrs: { href: "#flame" } }, "Flame chart"),
      h("a", { attrs: { href: "#sites" } }, "All sites"),
    );
    const topbar = h(
      "header",
      { class: "topbar" },
      h("div", { class: "topbar-inner" }, h("div", { class: "brand" }, h("span", { class: "logo", attrs: { "aria-hidden": "true" } }, "◆"), "leakhound", this.version), nav, this.pill),
    );
    this.explainButton = h("button", { class: "explain-now", attrs: { type: "button", title: "Find why the leaking objects stay alive, now, while the target runs" } }, "Explain now") as HTMLButtonElement;
    this.explainNote = h("span", { class: "explain-note", attrs: { "aria-live": "polite" } });
    this.explainBox = h("div", { class: "explain-box" }, this.explainButton, this.explainNote);
    this.explainBox.hidden = true;
    this.bannerSlot = h("div", { class: "banner-slot" });
    this.chart = new MemoryChart();
    this.memFigs = h("div");
    this.leaksList = h("div", { class: "leaks" });
    this.flame = new FlameChart();
    this.table = new SitesTable();
    const memory = section("memory", "Memory over time", h("div", { class: "card" }, this.memFigs, this.chart.el));
    const leaks = section("leaks", "Leaks", this.leaksList);
    this.leaksTitle = leaks.title;
    this.testsSlot = h("div");
    const tests = section("tests", "Tests that kept memory", this.testsSlot);
    this.testsSection = tests.el;
    this.testsSection.hidden = true;
    const flame = section(
      "flame",
      "Where memory grew, by stack",
      h("div", { class: "card" }, h("p", { class: "muted small lead" }, "Outermost frame at the top; each frame is as wide as the memory allocated beneath it. Hover for figures, click a frame to zoom in, click it again to zoom out."), this.flame.el),
    );
    const sites = section("sites", "All allocation sites", h("div", { class: "card" }, this.table.el));
    this.footer = h("footer", { class: "footer muted small" });
    this.placeholder = h("div", { class: "placeholder" }, h("div", { class: "spinner" }), h("p", null, "Waiting for the first samples from the target…"));
    this.content = h("main", { class: "content", attrs: { hidden: "" } }, this.explainBox, this.bannerSlot, memory.el, leaks.el, tests.el, flame.el, sites.el, this.footer);
    this.root.replaceChildren(topbar, h("div", { class: "page" }, this.placeholder, this.content));
    this.renderPill();
    setInterval(() => this.renderPill(), 1000);
  }

  update(model: Model, status: Status): void {
    this.status = status;
    this.updates++;
    this.placeholder.hidden = true;
    this.content.hidden = false;
    const head = model.head;
    this.version.textContent = head.tool?.version ? `v${head.tool.version}` : "";
    const title = `leakhound · ${fmt.verdictLabel(head.verdict).toLowerCase()}${head.target.argv.length ? ` · ${commandLine(head.target.argv, 80)}` : ""}`;
    document.title = status.mode === "live" && status.state !== "final" ? `● ${title}` : title;
    this.bannerSlot.replaceChildren(renderBanner(model, status.mode === "live" && status.state !== "final"));
    this.memFigs.replaceChildren(renderMemoryFigures(model));
    this.chart.update(model);
    this.renderLeaks(model);
    const testsCard = renderTests(model);
    this.testsSection.hidden = !testsCard;
    this.testsSlot.replaceChildren(...(testsCard ? [testsCard] : []));
    this.flame.update(model);
    this.table.update(model);
    this.footer.replaceChildren(
      `${head.tool?.name ?? "leakhound"} ${head.tool?.version ?? ""} · ${head.schema}`,
      head.capture ? ` · capture ${head.capture}` : "",
      ` · ${fmt.count(model.sites.length)} allocation sites`,
    );
    this.renderPill();
    this.syncExplain();
    const de = document.documentElement;
    de.setAttribute("data-lh-state", status.mode === "live" ? status.state : "ready");
    de.setAttribute("data-lh-updates", String(this.updates));
    if (status.mode === "live" && status.seq !== undefined) de.setAttribute("data-lh-seq", String(status.seq));
  }

  private syncExplain(): void {
    if (this.status.mode === "live" && this.status.state === "final") this.explainBox.hidden = true;
  }

  setLive(s: { state: LiveState; at: number }): void {
    if (this.status.mode === "live" && this.status.state === "final") return;
    this.status = { mode: "live", state: s.state, at: s.at, seq: this.status.mode === "live" ? this.status.seq : undefined };
    document.documentElement.setAttribute("data-lh-state", s.state);
    if (s.state === "waiting" || s.state === "connecting") {
      const p = this.placeholder.querySelector("p");
      if (p) p.textContent = s.state === "waiting" ? "Connected. Waiting for the first samples from the target…" : "Connecting to leakhound…";
    }
    this.renderPill();
  }

  /** The live view's "Explain now" button (only when the server takes requests). */
  enableExplain(ask: () => void): void {
    this.explainBox.hidden = false;
    this.explainButton.addEventListener("click", () => {
      this.setExplaining(true);
      ask();
    });
  }

  /** A search asked for from a page is under way (or done, with what came of it). */
  setExplaining(running: boolean, note?: string): void {
    this.explainButton.disabled = running;
    this.explainButton.textContent = running ? "Explaining…" : "Explain now";
    this.explainNote.textContent = running ? "searching the running program's heap for what keeps the leaks alive" : (note ?? "");
    document.documentElement.setAttribute("data-lh-explain", running ? "running" : "done");
  }

  showError(message: string): void {
    this.placeholder.hidden = false;
    this.placeholder.replaceChildren(h("p", { class: "error" }, `Could not show this report: ${message}`));
    document.documentElement.setAttribute("data-lh-state", "error");
  }

  private renderPill(): void {
    const s = this.status;
    if (s.mode === "static") {
      this.pill.className = "pill pill-static";
      this.pill.textContent = "Report";
      return;
    }
    const ago = Math.max(0, Math.round((Date.now() - s.at) / 1000));
    const labels: Record<LiveState, string> = {
      connecting: "connecting…",
      waiting: "live — waiting for data",
      live: `live — updating · ${ago < 2 ? "just now" : `${ago} s ago`}`,
      final: "finished — final analysis",
      disconnected: "disconnected — retrying…",
    };
    this.pill.className = `pill pill-${s.state}`;
    this.pill.replaceChildren(h("span", { class: "dot", attrs: { "aria-hidden": "true" } }), labels[s.state]);
  }

  private renderLeaks(model: Model): void {
    const n = model.leaks.length;
    // The count is of causes (one container keeping several sites' objects is one leak).
    const causes = model.head.causes ?? [];
    const counted = causes.length || n;
    const title = n ? (counted < n ? `Leaks (${counted}, at ${n} sites)` : `Leaks (${n})`) : "Leaks";
    this.leaksTitle.textContent = title;
    this.leaksNav.textContent = n ? `Leaks (${counted})` : "Leaks";
    if (n === 0) {
      const v = model.head.verdict;
      this.leaksList.replaceChildren(
        h(
          "div",
          { class: "card empty-card" },
          v === "no-leak"
            ? "No allocation site kept growing. The table below lists every site the collector tracked."
            : v === "inconclusive"
              ? "No site grew steadily enough to call it a leak yet. A longer run, or a run under a steady load, will tell."
              : "The verdict is a leak, but no single allocation site could be pinned down (see the reason above).",
        ),
      );
      return;
    }
    const keys = new Set(model.leaks.map(leakKey));
    for (const k of [...this.open]) if (!keys.has(k.split(":").slice(0, 3).join(":"))) this.open.delete(k);
    this.leaksList.replaceChildren(renderCauses(model), ...model.leaks.map((l) => renderLeakCard(model, l, this.open)));
  }
}

/** The leaks by cause, leading the cards: only when some cause holds several sites. */
function renderCauses(model: Model): HTMLElement | string {
  const causes = model.head.causes ?? [];
  if (!causes.some((c) => c.sites > 1)) return "";
  return h(
    "div",
    { class: "card causes-card" },
    h("h3", null, `${causes.length} leak${causes.length === 1 ? "" : "s"} by cause`),
    h(
      "ol",
      { class: "causes" },
      causes.map((c) =>
        h(
          "li",
          { data: { cause: c.id } },
          h("strong", null, c.label),
          h(
            "div",
            { class: "muted small" },
            `${fmt.countOf(c.sites, "allocation site")} (${c.leaks.map((r) => `#${r}`).join(", ")}) · ` +
              `${fmt.signedBytes(c.growthBytes)} after warm-up (${fmt.rate(c.growthBytesPerSec)}) · live ${fmt.bytes(c.liveBytes)}` +
              (c.freedAtExit ? " · freed only at exit" : ""),
          ),
        ),
      ),
    ),
  );
}
