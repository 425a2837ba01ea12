// pprof (profile.proto, gzipped): what `go tool pprof`, Pyroscope, Parca and Grafana read.
// Built with Datadog's pprof-format encoder. One sample per allocation stack, four values.
import zlib from "node:zlib";
import { Function as PFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from "pprof-format";
import type { Frame } from "../protocol/messages.js";
import { SAMPLE_TYPES, type ProcessStacks } from "./stacks.js";

const UNITS: Record<(typeof SAMPLE_TYPES)[number], string> = {
  inuse_space: "bytes",
  inuse_objects: "count",
  alloc_space: "bytes",
  alloc_objects: "count",
};

export interface PprofInput {
  processes: ProcessStacks[];
  /** Epoch ms when the capture started. */
  createdAt: number;
  durationSec: number;
  /** Mean bytes between sampled allocations (0 for exact collectors). */
  sampleBytes: number;
  comments: string[];
}

export async function encodePprof(input: PprofInput): Promise<Buffer> {
  const strings = new StringTable();
  const functions = new Map<string, PFunction>();
  const locations = new Map<string, Location>();
  const samples: Sample[] = [];
  const multi = input.processes.length > 1;

  const locationOf = (f: Frame): Location => {
    const fkey = `${f.file}\0${f.function}`;
    let fn = functions.get(fkey);
    if (!fn) {
      fn = new PFunction({ id: functions.size + 1, name: strings.dedup(f.function || "?"), systemName: strings.dedup(f.function || "?"), filename: strings.dedup(f.file) });
      functions.set(fkey, fn);
    }
    const lkey = `${fkey}\0${f.line}`;
    let loc = locations.get(lkey);
    if (!loc) {
      loc = new Location({ id: locations.size + 1, mappingId: 1, line: [new Line({ functionId: fn.id, line: Math.max(0, f.line) })] });
      locations.set(lkey, loc);
    }
    return loc;
  };

  const pidKey = strings.dedup("pid");
  for (const p of input.processes) {
    const root = multi ? [locationOf({ file: "", line: 0, function: p.label })] : [];
    for (const s of p.stacks) {
      samples.push(
        new Sample({
          // Leaf first, as profile.proto wants it.
          locationId: [...s.frames.map((f) => locationOf(f).id), ...root.map((l) => l.id)],
          value: SAMPLE_TYPES.map((t) => s.values[t]),
          label: [new Label({ key: pidKey, num: p.pid })],
        }),
      );
    }
  }

  const profile = new Profile({
    sampleType: SAMPLE_TYPES.map((t) => new ValueType({ type: strings.dedup(t), unit: strings.dedup(UNITS[t]) })),
    sample: samples,
    // One mapping for the interpreter, with symbols already resolved (nothing for pprof to look up).
    mapping: [new Mapping({ id: 1, filename: strings.dedup("python"), hasFunctions: true, hasFilenames: true, hasLineNumbers: true })],
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: strings,
    timeNanos: BigInt(Math.round(input.createdAt)) * 1_000_000n,
    durationNanos: BigInt(Math.round(input.durationSec * 1e9)),
    periodType: new ValueType({ type: strings.dedup("space"), unit: strings.dedup("bytes") }),
    period: Math.round(input.sampleBytes),
    comment: input.comments.map((c) => strings.dedup(c)),
    defaultSampleType: strings.dedup("inuse_space"),
  });
  return zlib.gzipSync(await profile.encodeAsync());
}
