// Retainer paths merged into a tree: paths that share a root and first steps
// share nodes, and each node counts the objects and bytes of the paths through it.
import type { RetainerReport } from "../src/report/model.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";

export interface RetainerNode {
  label: string;
  /** Set on roots: "module global", "thread stack", … */
  kind?: string;
  objects: number;
  bytes: number;
  children: RetainerNode[];
}

export function mergeRetainers(paths: RetainerReport[]): RetainerNode[] {
  const roots: RetainerNode[] = [];
  const childOf = (list: RetainerNode[], label: string, kind?: string): RetainerNode => {
    let node = list.find((n) => n.label === label && n.kind === kind);
    if (!node) {
      node = { label, kind, objects: 0, bytes: 0, children: [] };
      list.push(node);
    }
    return node;
  };
  for (const p of paths) {
    let node = childOf(roots, p.root, p.rootKind);
    node.objects += p.objects;
    node.bytes += p.bytes;
    for (const step of p.path) {
      node = childOf(node.children, step);
      node.objects += p.objects;
      node.bytes += p.bytes;
    }
  }
  const sort = (list: RetainerNode[]) => {
    list.sort((a, b) => b.bytes - a.bytes);
    list.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}

export function renderRetainerTree(paths: RetainerReport[]): HTMLElement {
  const roots = mergeRetainers(paths);
  const total = roots.reduce((s, r) => s + r.bytes, 0) || 1;
  const renderNodes = (nodes: RetainerNode[], depth: number): HTMLElement =>
    h(
      "ul",
      { class: depth === 0 ? "rtree" : "rtree-children" },
      nodes.map((n) =>
        h(
          "li",
          null,
          h(
            "div",
            { class: `rnode${n.kind ? " rnode-root" : ""}${n.children.length === 0 ? " rnode-leaf" : ""}` },
            n.kind ? h("span", { class: "rkind" }, n.kind) : null,
            h("span", { class: "rlabel" }, n.label),
            h(
              "span",
              { class: "rstats" },
              h("span", { class: "rcount" }, `× ${fmt.count(n.objects)}`),
              h("span", { class: "rbytes" }, fmt.bytes(n.bytes)),
              h("span", { class: "rbar" }, h("span", { style: { width: `${Math.max(2, (100 * n.bytes) / total)}%` } })),
            ),
          ),
          n.children.length ? renderNodes(n.children, depth + 1) : null,
        ),
      ),
    );
  return renderNodes(roots, 0);
}
