// The verdict banner and the run's facts; the memory figures under the chart.
import type { MemoryFigures, ThreadFigures } from "../src/report/model.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";
import { collectorSummary, commandLine, threadsWorthShowing, threadWords } from "../src/report/units.js";
import type { Model } from "./model.js";

function fact(label: string, value: string | Node, title?: string): HTMLElement {
  return h("div", { class: "fact" }, h("dt", null, label), h("dd", { title: title ?? (typeof value === "string" ? value : "") }, value));
}

/** The collector in one short line, the same words as the terminal report's. */
export function collectorText(model: Model): string {
  const c = model.head.collector;
  return c ? collectorSummary(c) : "unknown";
}

/** The detail behind it: frames per stack and the collector's full error note. */
export function collectorDetail(model: Model): string {
  const c = model.head.collector;
  if (!c) return "";
  return [`${c.nframes} frames per stack`, c.note].filter(Boolean).join("; ");
}

function exitText(model: Model, running: boolean): string {
  if (running) return "running";
  const t = model.head.target;
  const byLeakhound = t.stoppedBy === "leakhound" ? " (stopped by leakhound)" : "";
  if (t.signal) return `killed by ${t.signal}${byLeakhound}`;
  if (t.stoppedBy === "detached") return "leakhound detached, still running";
  if (t.exitCode === null) return "exit unknown";
  return `exit code ${t.exitCode}${byLeakhound}`;
}

export function renderBanner(model: Model, running = false): HTMLElement {
  const head = model.head;
  const v = head.verdict;
  const icon = v === "leak" ? "!" : v === "no-leak" ? "✓" : "?";
  const headline =
    v === "leak"
      ? `${model.leaks.length || "A"} leaking site${model.leaks.length === 1 ? "" : "s"}`
      : v === "no-leak"
        ? "Memory stayed bounded"
        : "Not enough evidence either way";
  const cmd = commandLine(head.target.argv);
  return h(
    "section",
    { class: `verdict verdict-${v}`, id: "overview", attrs: { "aria-label": "verdict" } },
    h(
      "div",
      { class: "verdict-main" },
      h("div", { class: "verdict-icon", attrs: { "aria-hidden": "true" } }, icon),
      h(
        "div",
        { class: "verdict-text" },
        h("div", { class: "verdict-kicker" }, fmt.verdictLabel(v), h("span", { class: "confidence" }, `confidence ${fmt.percent(head.confidence)}`)),
        h("h1", { class: "verdict-title" }, headline),
        h("p", { class: "verdict-reason" }, head.reason),
      ),
    ),
    running
      ? h("p", { class: "partial partial-live" }, "The target is still running: this is the analysis of the data so far, and it will change.")
      : head.partial
        ? h("p", { class: "partial" }, "Partial capture: the run was cut short or a process sent no data; the report says what it could.")
        : null,
    h(
      "dl",
      { class: "facts" },
      fact("Command", h("code", null, cmd || "(unknown)"), cmd),
      fact("Python", head.target.python ?? "unknown"),
      model.processes.length ? fact("Duration", fmt.duration(head.durationSec)) : null,
      fact("Process", `${head.target.pid !== null ? `pid ${head.target.pid}` : "pid unknown"}, ${exitText(model, running)}${model.processes.length > 1 ? `, ${model.processes.length} processes` : ""}`),
      fact("Collector", collectorText(model), [collectorText(model), collectorDetail(model)].filter(Boolean).join(" — ")),
      head.capture ? fact("Capture", h("code", null, head.capture), head.capture) : null,
    ),
    head.notes?.length || head.bounded?.length
      ? h(
          "ul",
          { class: "notes" },
          (head.notes ?? []).map((n) => h("li", null, n)),
          (head.bounded ?? []).slice(0, 5).map((b) => h("li", { class: "bounded" }, h("strong", null, "Bounded, not a leak: "), b.text)),
        )
      : null,
  );
}

function memFig(label: string, m: MemoryFigures): HTMLElement {
  return h(
    "div",
    { class: "memfig" },
    h("div", { class: "fig-label" }, label),
    h("div", { class: "fig-value" }, `${fmt.bytes(m.start)} → ${fmt.bytes(m.end)}`),
    h("div", { class: "fig-sub" }, `peak ${fmt.bytes(m.peak)} · trend after warm-up ${fmt.rate(m.ratePerSec)}`),
  );
}

export function renderMemoryFigures(model: Model): HTMLElement {
  // No process observed (not Python, too old): nothing was measured, so no zeros to show.
  if (!model.processes.length) return h("div", { class: "memfigs" }, h("p", { class: "memfig-none" }, "Memory not measured: no Python process was observed."));
  const threads = model.head.threads;
  return h(
    "div",
    { class: "memfigs" },
    memFig("RSS", model.head.memory.rss),
    memFig("Python heap", model.head.memory.heap),
    threads && threadsWorthShowing(threads) ? threadFig(threads) : null,
  );
}

function threadFig(f: ThreadFigures): HTMLElement {
  const [span, why] = threadWords(f).split(": ");
  return h(
    "div",
    { class: `memfig${f.growing ? " threads-growing" : ""}` },
    h("div", { class: "fig-label" }, "Threads"),
    h("div", { class: "fig-value" }, span),
    h("div", { class: "fig-sub" }, why ?? `peak ${f.peak}`),
  );
}
