// Folded stacks (`root;caller;leaf 1234` per line), the input of flamegraph.pl and of
// most flame-graph tools; one line per allocation stack, weighted by one sample type.
import { frameName, type ProcessStacks, type SampleType } from "./stacks.js";

/** A frame name cannot hold the separators of the format. */
function clean(name: string): string {
  return name.replace(/[;\r\n]/g, ",");
}

export function foldedStacks(processes: readonly ProcessStacks[], type: SampleType): string {
  const multi = processes.length > 1;
  const lines: string[] = [];
  for (const p of processes) {
    const cwd = p.proc.cwd;
    for (const s of p.stacks) {
      const value = s.values[type];
      if (value <= 0) continue;
      const names = s.frames.map((f) => clean(frameName(f, cwd))).reverse();
      if (multi) names.unshift(clean(p.label));
      lines.push(`${names.join(";")} ${value}`);
    }
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}
