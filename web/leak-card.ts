// One card per leak: figures, sparkline, the site in its source, the stack,
// the retainer tree and a "copy as text" button.
import { h } from "./dom.js";
import * as fmt from "./format.js";
import type { Leak, Model } from "./model.js";
import { renderRetainerTree } from "./retainer-tree.js";
import { isNoPythonFrame, NO_PYTHON_FRAME, ownerLine } from "../src/report/units.js";
import { sparkline } from "./sparkline.js";
import { leakAsText, sourceExcerpt } from "./text-report.js";

export function leakKey(leak: Leak): string {
  return `${leak.pid}:${leak.stackId}:${leak.kind}`;
}

function figure(label: string, value: string, sub?: string): HTMLElement {
  return h("div", { class: "fig" }, h("div", { class: "fig-label" }, label), h("div", { class: "fig-value" }, value), sub ? h("div", { class: "fig-sub" }, sub) : null);
}

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the selection-based copy
  }
  const ta = h("textarea", { class: "offscreen", attrs: { readonly: "" } });
  ta.value = text;
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function renderLeakCard(model: Model, leak: Leak, open: Set<string>): HTMLElement {
  const key = leakKey(leak);
  const site = leak.site;
  const text = () => leakAsText(model, leak);

  const copyBtn = h("button", { class: "btn", attrs: { type: "button" } }, "Copy as text");
  const textBox = h("pre", { class: "plain-text", attrs: { hidden: "" } });
  copyBtn.addEventListener("click", async () => {
    const t = text();
    textBox.textContent = t;
    const ok = await copyText(t);
    copyBtn.textContent = ok ? "Copied ✓" : "Select the text below";
    if (!ok) textBox.removeAttribute("hidden");
    setTimeout(() => (copyBtn.textContent = "Copy as text"), 2000);
  });
  const showBtn = h("button", { class: "btn btn-quiet", attrs: { type: "button" } }, "Show text");
  showBtn.addEventListener("click", () => {
    if (textBox.hasAttribute("hidden")) {
      textBox.textContent = text();
      textBox.removeAttribute("hidden");
      showBtn.textContent = "Hide text";
    } else {
      textBox.setAttribute("hidden", "");
      showBtn.textContent = "Show text";
    }
  });

  const src = sourceExcerpt(model, leak);
  const source = src.length
    ? h(
        "div",
        { class: "source" },
        h("div", { class: "source-file", title: site?.file ?? "" }, site?.file ?? ""),
        h(
          "table",
          { class: "source-lines" },
          h(
            "tbody",
            null,
            src.map((l) =>
              h("tr", { class: l.site ? "hl" : "" }, h("td", { class: "ln" }, String(l.line)), h("td", { class: "code" }, l.text || " ")),
            ),
          ),
        ),
      )
    : h("p", { class: "muted small" }, "No source lines were captured for this site.");

  const stack = h(
    "ol",
    { class: "stack" },
    leak.stack.map((f, i) =>
      h(
        "li",
        { class: site && f.file === site.file && f.line === site.line && f.function === site.function ? "stack-site" : "" },
        h("span", { class: "fn" }, f.function),
        h("span", { class: "loc", title: f.file }, fmt.frameLocation(f)),
        i === 0 ? h("span", { class: "tag" }, "innermost") : null,
      ),
    ),
  );

  const retainers = leak.retainers.length
    ? h(
        "div",
        null,
        leak.explainedAt ? h("p", { class: "explained-at" }, capitalize(leak.explainedAt.text)) : null,
        leak.owner ? h("p", { class: "owner" }, capitalize(ownerLine(leak.owner))) : null,
        renderRetainerTree(leak.retainers),
        leak.retainerNote ? h("p", { class: "muted small" }, leak.retainerNote) : null,
      )
    : h(
        "p",
        { class: `note${leak.unreachable ? " note-warn" : ""}` },
        leak.retainerNote ?? (leak.unreachable ? "The sampled objects are not reachable from any root." : "No retainer path was found for this site."),
      );

  const details = h(
    "details",
    { class: "card-details" },
    h("summary", null, `Stack (${leak.stack.length} frame${leak.stack.length === 1 ? "" : "s"}, innermost first)`),
    stack,
  );
  if (open.has(`${key}:stack`)) details.open = true;
  details.addEventListener("toggle", () => (details.open ? open.add(`${key}:stack`) : open.delete(`${key}:stack`)));

  const values = leak.series.values[0] ?? [];
  return h(
    "article",
    { class: `card leak-card kind-${leak.kind}`, data: { key } },
    h(
      "header",
      { class: "card-head" },
      h("div", { class: "rank" }, `#${leak.rank}`),
      h(
        "div",
        { class: "card-title" },
        h("h3", { class: "site-fn" }, site && !isNoPythonFrame(site) ? site.function : site ? NO_PYTHON_FRAME : "(unknown site)"),
        causeTag(model, leak),
        h("div", { class: "site-loc", title: site?.file ?? "" }, site && !isNoPythonFrame(site) ? `${site.file}:${site.line}` : "no Python frame recorded"),
      ),
      h(
        "div",
        { class: "badges" },
        h("span", { class: `badge badge-${leak.kind}` }, leak.kind),
        h("span", { class: "badge" }, leak.group ? `${leak.group.leaking} of ${leak.group.of} ${leak.group.label}` : `pid ${leak.pid}`),
        h("span", { class: "badge badge-conf", title: "confidence" }, `${fmt.percent(leak.confidence)} sure`),
      ),
    ),
    h(
      "div",
      { class: "card-figs" },
      figure("Growth", fmt.signedBytes(leak.growthBytes), fmt.rate(leak.growthBytesPerSec)),
      figure("Live now", fmt.bytes(leak.liveBytes), fmt.countOf(leak.liveCount, "allocation")),
      h("div", { class: "fig fig-spark" }, h("div", { class: "fig-label" }, "Live bytes over time"), sparkline(leak.series.t, values)),
    ),
    h("p", { class: "evidence" }, leak.evidence),
    leak.tests?.length
      ? h("p", { class: "leak-tests" }, h("strong", null, "Tests: "), leak.tests.map((t) => `${t.id} (${fmt.countOf(t.runs, "run")}, ${fmt.bytes(t.bytes)})`).join(", "))
      : null,
    // With --lint: the lint findings that explain this leak, each with its fix.
    (leak.causes ?? []).map((c) =>
      h("p", { class: "cause" }, h("strong", null, "Cause: "), `${c.message} (${c.rule}, ${c.file}:${c.line})`, h("br"), h("strong", null, "Fix: "), c.fix),
    ),
    // A standard library table its paths go through: why it holds them, and the fix.
    leak.holder
      ? h("p", { class: "cause holder" }, h("strong", null, "Held by: "), leak.holder.what, h("br"), h("strong", null, "Fix: "), leak.holder.fix)
      : null,
    leak.processes
      ? h(
          "ul",
          { class: "leak-processes" },
          ...leak.processes.map((p) =>
            h(
              "li",
              null,
              h("span", { class: "badge" }, `pid ${p.pid}`),
              ` ${fmt.signedBytes(p.growthBytes)} (${fmt.rate(p.growthBytesPerSec)}), live ${fmt.bytes(p.liveBytes)}`,
              p.retainer ? h("span", { class: "muted small" }, ` · ${p.retainer}`) : null,
            ),
          ),
        )
      : null,
    h(
      "div",
      { class: "card-body" },
      h("section", { class: "card-col" }, h("h4", null, "Allocated here"), source, details),
      h("section", { class: "card-col" }, h("h4", null, "Kept alive by"), retainers),
    ),
    h("footer", { class: "card-foot" }, copyBtn, showBtn, textBox),
  );
}

function capitalize(text: string): string {
  return text ? text[0]!.toUpperCase() + text.slice(1) : text;
}

/** "cause C1: module app → _CACHE keeps Record objects", when the leak's cause holds other sites too. */
function causeTag(model: Model, leak: Leak): HTMLElement | null {
  const cause = (model.head.causes ?? []).find((c) => c.id === leak.cause);
  return cause && cause.sites > 1 ? h("div", { class: "cause-tag muted small" }, `cause ${cause.id}: ${cause.label}`) : null;
}
