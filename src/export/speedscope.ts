// speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json):
// one "sampled" profile per process, each allocation stack a sample weighted by one
// sample type, frames shared between the profiles.
import { frameName, type ProcessStacks, type SampleType } from "./stacks.js";

interface SpeedscopeFrame {
  name: string;
  file?: string;
  line?: number;
}

export function speedscopeFile(processes: readonly ProcessStacks[], type: SampleType, name: string, exporter: string): object {
  const frames: SpeedscopeFrame[] = [];
  const index = new Map<string, number>();
  const frameIndex = (f: { file: string; line: number; function: string }, cwd: string): number => {
    const key = `${f.file}\0${f.line}\0${f.function}`;
    let i = index.get(key);
    if (i === undefined) {
      i = frames.length;
      frames.push({ name: frameName(f, cwd), ...(f.file ? { file: f.file } : {}), ...(f.line > 0 ? { line: f.line } : {}) });
      index.set(key, i);
    }
    return i;
  };
  const unit = type.endsWith("_space") ? "bytes" : "none";
  const profiles = processes.map((p) => {
    const samples: number[][] = [];
    const weights: number[] = [];
    for (const s of p.stacks) {
      const w = s.values[type];
      if (w <= 0) continue;
      samples.push(s.frames.map((f) => frameIndex(f, p.proc.cwd)).reverse());
      weights.push(w);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    return { type: "sampled", name: `${p.label} (${type})`, unit, startValue: 0, endValue: total, samples, weights };
  });
  return {
    $schema: "https://www.speedscope.app/file-format-schema.json",
    shared: { frames },
    profiles,
    name,
    activeProfileIndex: 0,
    exporter,
  };
}
