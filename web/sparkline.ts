// A small SVG area chart of one series (a leak's live bytes over time).
import { svg } from "./dom.js";

export function sparkline(t: number[], y: number[], width = 220, height = 48): SVGSVGElement {
  const root = svg("svg", {
    class: "sparkline",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    preserveAspectRatio: "none",
    role: "img",
  });
  const pts: [number, number][] = [];
  for (let i = 0; i < t.length; i++) if (Number.isFinite(t[i]) && Number.isFinite(y[i])) pts.push([t[i], y[i]]);
  if (pts.length < 2) {
    root.appendChild(svg("line", { x1: 0, y1: height - 1, x2: width, y2: height - 1, class: "spark-line" }));
    return root;
  }
  const t0 = pts[0][0];
  const t1 = pts[pts.length - 1][0];
  let lo = Math.min(0, ...pts.map((p) => p[1]));
  let hi = Math.max(...pts.map((p) => p[1]));
  if (hi === lo) hi = lo + 1;
  const pad = 2;
  const x = (v: number) => ((v - t0) / (t1 - t0 || 1)) * width;
  const yy = (v: number) => pad + (1 - (v - lo) / (hi - lo)) * (height - 2 * pad);
  const line = pts.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${yy(p[1]).toFixed(1)}`).join("");
  const area = `${line}L${x(t1).toFixed(1)},${height}L${x(t0).toFixed(1)},${height}Z`;
  root.appendChild(svg("path", { d: area, class: "spark-area" }));
  root.appendChild(svg("path", { d: line, class: "spark-line", "vector-effect": "non-scaling-stroke" }));
  return root;
}
