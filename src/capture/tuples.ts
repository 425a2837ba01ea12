// Per-sample tuples in the capture file: sorted by id, the id stored as a delta
// from the previous one, every value an unsigned LEB128 varint, the whole deflated.
import zlib from "node:zlib";
import { CaptureError } from "./capture-error.js";

// Tuples are sorted by id, stored as unsigned LEB128 varints (the id as a delta
// from the previous one, the other values rounded) and deflated. A blob of more
// than 3 values a tuple starts with 0 (no id is 0) and its width.
export function packTuples(tuples: readonly (readonly number[])[], width: number): Buffer | null {
  if (tuples.length === 0) return null;
  const sorted = [...tuples].sort((a, b) => a[0]! - b[0]!);
  const bytes: number[] = width > 3 ? [0, width] : [];
  const put = (value: number) => {
    let v = Math.max(0, Math.round(value));
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
  };
  let prev = 0;
  for (const tup of sorted) {
    put(tup[0]! - prev);
    prev = tup[0]!;
    for (let k = 1; k < width; k++) put(Number(tup[k] ?? 0));
  }
  return zlib.deflateRawSync(Buffer.from(bytes), { level: 6 });
}

export function unpackTuples(blob: Buffer | null, width: number): number[][] {
  if (!blob || blob.length === 0) return [];
  const raw = zlib.inflateRawSync(blob);
  const out: number[][] = [];
  let pos = 0;
  const get = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (pos >= raw.length) throw new CaptureError("sample data is cut short");
      const b = raw[pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
  };
  if (raw.length > 1 && raw[0] === 0) {
    width = raw[1]!;
    pos = 2;
  }
  let id = 0;
  while (pos < raw.length) {
    id += get();
    const tup = [id];
    for (let k = 1; k < width; k++) tup.push(get());
    out.push(tup);
  }
  return out;
}

