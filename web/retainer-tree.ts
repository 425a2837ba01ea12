// Retainer paths merged into a tree: paths that share a root and first steps
// share nodes, and each node counts the objects and bytes of the paths through it,
// with their standard error (in quadrature) when they are estimates.
import type { RetainerReport } from "../src/report/model.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";

export interface RetainerNode {
  label: string;
  /** Set on roots: "module global", "thread stack", … */
  kind?: string;
  objects: number;
  bytes: number;
  /** Squared standard errors of objects and bytes, summed over the paths through the node. */
  objectsVar: number;
  bytesVar: number;
  /** Every path through the node was counted exactly. */
  exact: boolean;
  /** Some path through the node has only the old split-by-count figures (no error known). */
  approximate: boolean;
  children: RetainerNode[];
}

export function mergeRetainers(paths: RetainerReport[]): RetainerNode[] {
  const roots: RetainerNode[] = [];
  const childOf = (list: RetainerNode[], label: string, kind?: string): RetainerNode => {
    let node = list.find((n) => n.label === label && n.kind === kind);
    if (!node) {
      node = { label, kind, objects: 0, bytes: 0, objectsVar: 0, bytesVar: 0, exact: true, approximate: false, children: [] };
      list.push(node);
    }
    return node;
  };
  const add = (node: RetainerNode, p: RetainerReport) => {
    node.objects += p.objects;
    node.bytes += p.bytes;
    node.objectsVar += (p.objectsError ?? 0) ** 2;
    node.bytesVar += (p.bytesError ?? 0) ** 2;
    node.exact &&= p.exact === true;
    node.approximate ||= p.approximate === true;
  };
  for (const p of paths) {
    let node = childOf(roots, p.root, p.rootKind);
    add(node, p);
    for (const step of p.path) {
      node = childOf(node.children, step);
      add(node, p);
    }
  }
  const sort = (list: RetainerNode[]) => {
    list.sort((a, b) => b.bytes - a.bytes);
    list.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}

/** A node's figures in words: "× 366,500" and "25.2 MB" when counted, "× ~81,474 ±3,453" and "1.9 MB ±80.9 KB" when estimated. */
export function nodeFigures(n: RetainerNode): { count: string; bytes: string; title: string } {
  if (n.exact) return { count: `× ${fmt.count(n.objects)}`, bytes: fmt.bytes(n.bytes), title: "counted in the containers the walk reached" };
  if (n.approximate) {
    return {
      count: `× ~${fmt.count(n.objects)}`,
      bytes: `~${fmt.bytes(n.bytes)}`,
      title: "approximate: the stack's live figures split by path (no error bound recorded)",
    };
  }
  const objectsErr = Math.sqrt(n.objectsVar);
  const bytesErr = Math.sqrt(n.bytesVar);
  const estimated = objectsErr >= 0.5 || bytesErr >= 0.5;
  return {
    count: `× ${estimated ? "~" : ""}${fmt.count(n.objects)}${objectsErr >= 0.5 ? ` ±${fmt.count(objectsErr)}` : ""}`,
    bytes: `${fmt.bytes(n.bytes)}${bytesErr >= 0.5 ? ` ±${fmt.bytes(bytesErr)}` : ""}`,
    title: estimated
      ? "estimated from the sampled objects, each weighted by its sampling probability; ± one standard error"
      : "every object of the stack on this path was traced",
  };
}

export function renderRetainerTree(paths: RetainerReport[]): HTMLElement {
  const roots = mergeRetainers(paths);
  const total = roots.reduce((s, r) => s + r.bytes, 0) || 1;
  const renderNodes = (nodes: RetainerNode[], depth: number): HTMLElement =>
    h(
      "ul",
      { class: depth === 0 ? "rtree" : "rtree-children" },
      nodes.map((n) => {
        const figures = nodeFigures(n);
        return h(
          "li",
          null,
          h(
            "div",
            { class: `rnode${n.kind ? " rnode-root" : ""}${n.children.length === 0 ? " rnode-leaf" : ""}` },
            n.kind ? h("span", { class: "rkind" }, n.kind) : null,
            h("span", { class: "rlabel" }, n.label),
            h(
              "span",
              { class: "rstats", title: figures.title },
              h("span", { class: "rcount" }, figures.count),
              h("span", { class: "rbytes" }, figures.bytes),
              h("span", { class: "rbar" }, h("span", { style: { width: `${Math.max(2, (100 * n.bytes) / total)}%` } })),
            ),
          ),
          n.children.length ? renderNodes(n.children, depth + 1) : null,
        );
      }),
    );
  const traced = paths[0]?.traced;
  const tree = renderNodes(roots, 0);
  if (!traced || roots.every((r) => r.exact)) return tree;
  return h(
    "div",
    null,
    tree,
    h(
      "p",
      { class: "muted small" },
      `Paths traced for ${fmt.count(traced.explained)} of the ${fmt.count(traced.sampled)} sampled objects found; each path's share estimated from them.`,
    ),
  );
}
