// Page-level salvage of a damaged or truncated SQLite file: the rows of each
// table that the surviving pages still hold, read straight from the file
// format (https://www.sqlite.org/fileformat2.html) without SQLite itself.
//
// A capture cut short loses its tail: the b-tree pages written last, and with
// them sometimes the interior page that pointed at surviving leaves. So the
// salvage walks each table's b-tree from its root (found in sqlite_schema on
// page 1), then scans every surviving page that no tree reached: a table leaf
// there is given to the one table whose declared columns fit its records'
// shape. A record whose payload runs into a lost page keeps the columns that
// lie before the cut (the rest are `undefined`); callers decide what a row
// needs. A `-wal` file, when given, is applied first (committed frames only,
// checksums and salts checked), as SQLite would.

/** A column value as SQLite stores it; `undefined` in a row means the value was lost. */
export type SqlValue = null | number | string | Buffer;

export interface SalvagedRow {
  rowid: number;
  values: (SqlValue | undefined)[];
}

export interface SalvagedTable {
  name: string;
  columns: string[];
  rows: SalvagedRow[];
}

export interface SalvageResult {
  pageSize: number;
  /** Pages the database had (from its header, or the last commit in the WAL). */
  pagesExpected: number;
  /** Of those, the pages that are still wholly present. */
  pagesPresent: number;
  tables: Map<string, SalvagedTable>;
  /** Records seen whose header could not be read (dropped). */
  recordsLost: number;
  /** Records recovered only in part (a payload running into a lost page). */
  recordsPartial: number;
  /** Leaf pages found without their parent and not attributable to one table (dropped). */
  orphanPagesDropped: number;
}

/** The file cannot be salvaged at all (its first page, with the schema, is gone or is not SQLite). */
export class SalvageError extends Error {}

const SQLITE_MAGIC = "SQLite format 3\0";
const LEAF_TABLE = 0x0d;
const INTERIOR_TABLE = 0x05;
const MAX_PAGES = 1 << 24; // far beyond any capture; a bound on hostile headers

type Affinity = "int" | "real" | "text" | "blob" | "numeric";

interface TableDef {
  name: string;
  root: number;
  columns: string[];
  affinity: Affinity[];
  notNull: boolean[];
  /** Index of the INTEGER PRIMARY KEY column (stored as NULL, its value is the rowid), or -1. */
  rowidAlias: number;
}

/** True when `buf` starts like an SQLite file (possibly cut inside the magic string). */
export function looksLikeSqlite(buf: Buffer): boolean {
  const n = Math.min(buf.length, SQLITE_MAGIC.length);
  return n > 0 && buf.toString("latin1", 0, n) === SQLITE_MAGIC.slice(0, n);
}

/** Page size from the 100-byte header, or 0 when it is not a valid one. */
export function headerPageSize(head: Buffer): number {
  if (head.length < 100) return 0;
  const raw = head.readUInt16BE(16);
  const size = raw === 1 ? 65536 : raw;
  return size >= 512 && size <= 65536 && (size & (size - 1)) === 0 ? size : 0;
}

// ---- WAL -------------------------------------------------------------------

function walChecksum(buf: Buffer, start: number, end: number, bigEndian: boolean, s: [number, number]): void {
  let [s0, s1] = s;
  for (let i = start; i + 8 <= end; i += 8) {
    const x0 = bigEndian ? buf.readUInt32BE(i) : buf.readUInt32LE(i);
    const x1 = bigEndian ? buf.readUInt32BE(i + 4) : buf.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  s[0] = s0;
  s[1] = s1;
}

/** The committed pages of a WAL file (latest version of each), and the database size at the last commit. */
export function readWal(wal: Buffer, pageSize: number): { pages: Map<number, Buffer>; dbSize: number } {
  const pages = new Map<number, Buffer>();
  let dbSize = 0;
  if (wal.length < 32) return { pages, dbSize };
  const magic = wal.readUInt32BE(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) return { pages, dbSize };
  const bigEndian = (magic & 1) === 1;
  const walPageSize = wal.readUInt32BE(8);
  if (walPageSize !== pageSize && pageSize !== 0) return { pages, dbSize };
  const size = walPageSize;
  if (size < 512 || size > 65536) return { pages, dbSize };
  const s: [number, number] = [0, 0];
  walChecksum(wal, 0, 24, bigEndian, s);
  if (s[0] !== wal.readUInt32BE(24) || s[1] !== wal.readUInt32BE(28)) return { pages, dbSize };
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  const pending = new Map<number, Buffer>();
  for (let off = 32; off + 24 + size <= wal.length; off += 24 + size) {
    if (wal.readUInt32BE(off + 8) !== salt1 || wal.readUInt32BE(off + 12) !== salt2) break;
    walChecksum(wal, off, off + 8, bigEndian, s);
    walChecksum(wal, off + 24, off + 24 + size, bigEndian, s);
    if (s[0] !== wal.readUInt32BE(off + 16) || s[1] !== wal.readUInt32BE(off + 20)) break;
    const pgno = wal.readUInt32BE(off);
    if (pgno === 0) break;
    pending.set(pgno, wal.subarray(off + 24, off + 24 + size));
    const commit = wal.readUInt32BE(off + 4);
    if (commit !== 0) {
      for (const [p, b] of pending) pages.set(p, b);
      pending.clear();
      dbSize = commit;
    }
  }
  return { pages, dbSize };
}

// ---- Records -----------------------------------------------------------------

/** An SQLite varint at `off`: [value, length]; throws past the end of `buf`. */
function varint(buf: Buffer, off: number, end = buf.length): [number, number] {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    if (off + i >= end) throw new RangeError("varint past the end");
    const b = buf[off + i]!;
    if (i === 8) return [v * 256 + b, 9];
    v = v * 128 + (b & 0x7f);
    if (b < 0x80) return [v, i + 1];
  }
  return [v, 9];
}

function serialSize(t: number): number {
  if (t <= 4) return t;
  if (t === 5) return 6;
  if (t === 6 || t === 7) return 8;
  if (t === 8 || t === 9) return 0;
  if (t >= 12) return Math.floor((t - 12) / 2);
  return -1; // 10, 11: reserved
}

function readInt(buf: Buffer, off: number, n: number): number {
  if (n === 0) return 0;
  if (n === 8) return Number(buf.readBigInt64BE(off));
  if (n === 6) return buf.readIntBE(off, 6);
  return buf.readIntBE(off, n);
}

/**
 * Decodes a record whose payload may be cut short (`payload.length < full`).
 * Returns null when even its header is unreadable.
 */
function decodeRecord(payload: Buffer, text: (b: Buffer) => string): (SqlValue | undefined)[] | null {
  let headerSize: number;
  let pos: number;
  try {
    [headerSize, pos] = varint(payload, 0);
  } catch {
    return null;
  }
  if (headerSize > payload.length || headerSize < pos) return null;
  const types: number[] = [];
  try {
    while (pos < headerSize) {
      const [t, n] = varint(payload, pos, headerSize);
      types.push(t);
      pos += n;
    }
  } catch {
    return null;
  }
  const values: (SqlValue | undefined)[] = [];
  let off = headerSize;
  for (const t of types) {
    const size = serialSize(t);
    if (size < 0) return null;
    if (off + size > payload.length) {
      values.push(undefined);
      off += size;
      continue;
    }
    if (t === 0) values.push(null);
    else if (t <= 6) values.push(readInt(payload, off, size));
    else if (t === 7) values.push(payload.readDoubleBE(off));
    else if (t === 8) values.push(0);
    else if (t === 9) values.push(1);
    else if (t % 2 === 0) values.push(Buffer.from(payload.subarray(off, off + size)));
    else values.push(text(payload.subarray(off, off + size)));
    off += size;
  }
  return values;
}

// ---- Schema ------------------------------------------------------------------

/** Column names and declared affinities from a CREATE TABLE statement (enough for SQLite's own grammar as written by us). */
export function parseCreateTable(sql: string): { columns: string[]; affinity: Affinity[]; notNull: boolean[]; rowidAlias: number } | null {
  const open = sql.indexOf("(");
  const close = sql.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const body = sql.slice(open + 1, close);
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of body) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  const columns: string[] = [];
  const affinity: Affinity[] = [];
  const notNull: boolean[] = [];
  let rowidAlias = -1;
  for (const raw of parts) {
    const def = raw.trim();
    if (!def || /^(PRIMARY|UNIQUE|CHECK|FOREIGN|CONSTRAINT)\b/i.test(def)) continue;
    const m = /^("[^"]+"|`[^`]+`|\[[^\]]+\]|\S+)\s*(.*)$/s.exec(def);
    if (!m) continue;
    const name = m[1]!.replace(/^["`[]|["`\]]$/g, "");
    const rest = m[2]!;
    const type = (/^([A-Za-z_ ]*?)(\s+(PRIMARY|NOT|NULL|DEFAULT|UNIQUE|CHECK|REFERENCES|COLLATE|GENERATED|AS)\b|$)/i.exec(rest)?.[1] ?? "").toUpperCase();
    let aff: Affinity;
    if (type.includes("INT")) aff = "int";
    else if (/CHAR|CLOB|TEXT/.test(type)) aff = "text";
    else if (type === "" || type.includes("BLOB")) aff = "blob";
    else if (/REAL|FLOA|DOUB/.test(type)) aff = "real";
    else aff = "numeric";
    if (type.trim() === "INTEGER" && /\bPRIMARY\s+KEY\b/i.test(rest)) rowidAlias = columns.length;
    columns.push(name);
    affinity.push(aff);
    notNull.push(/\bNOT\s+NULL\b/i.test(rest));
  }
  return columns.length ? { columns, affinity, notNull, rowidAlias } : null;
}

function fits(def: TableDef, values: (SqlValue | undefined)[]): boolean {
  if (values.length !== def.columns.length) return false;
  return values.every((v, i) => {
    if (v === undefined) return true;
    if (i === def.rowidAlias) return v === null;
    if (v === null) return !def.notNull[i];
    switch (def.affinity[i]) {
      case "int":
      case "real":
      case "numeric":
        return typeof v === "number";
      case "text":
        return typeof v === "string";
      default:
        return true;
    }
  });
}

// ---- The salvage ---------------------------------------------------------------

export function salvageSqlite(main: Buffer, wal?: Buffer | null): SalvageResult {
  if (!looksLikeSqlite(main) || main.length < 100) throw new SalvageError("its header is cut short");
  const pageSize = headerPageSize(main);
  if (!pageSize) throw new SalvageError("its header is damaged (no valid page size)");
  const usable = pageSize - main[20]!;
  if (usable < 480) throw new SalvageError("its header is damaged (reserved space)");
  const encoding = main.readUInt32BE(56);
  const utf16 = encoding === 2 ? "le" : encoding === 3 ? "be" : null;
  const text = (b: Buffer): string => {
    if (!utf16) return b.toString("utf8");
    if (utf16 === "le") return b.toString("utf16le");
    const swapped = Buffer.from(b);
    swapped.swap16();
    return swapped.toString("utf16le");
  };

  const walPages = wal ? readWal(wal, pageSize) : { pages: new Map<number, Buffer>(), dbSize: 0 };
  const headerPages = main.readUInt32BE(92) === main.readUInt32BE(24) ? main.readUInt32BE(28) : 0;
  const pagesExpected = Math.min(
    MAX_PAGES,
    walPages.dbSize || Math.max(headerPages, Math.ceil(main.length / pageSize)),
  );

  /** A page as far as it survives (possibly shorter than pageSize), or null when lost. */
  const page = (n: number): Buffer | null => {
    if (n < 1 || n > pagesExpected) return null;
    const fromWal = walPages.pages.get(n);
    if (fromWal) return fromWal;
    const start = (n - 1) * pageSize;
    if (start >= main.length) return null;
    return main.subarray(start, Math.min(start + pageSize, main.length));
  };
  let pagesPresent = 0;
  for (let n = 1; n <= pagesExpected; n++) if ((page(n)?.length ?? 0) === pageSize) pagesPresent++;

  let recordsLost = 0;
  let recordsPartial = 0;
  const reached = new Set<number>();
  const overflowPages = new Set<number>();

  const maxLocal = usable - 35;
  const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
  const localSize = (p: number): number => {
    if (p <= maxLocal) return p;
    const k = minLocal + ((p - minLocal) % (usable - 4));
    return k <= maxLocal ? k : minLocal;
  };

  /** The cells of a table leaf page, decoded (as far as they survive). */
  const leafCells = (n: number, buf: Buffer): SalvagedRow[] => {
    const hdr = n === 1 ? 100 : 0;
    const rows: SalvagedRow[] = [];
    if (buf.length < hdr + 8) return rows;
    const cells = buf.readUInt16BE(hdr + 3);
    for (let i = 0; i < cells; i++) {
      const ptrAt = hdr + 8 + 2 * i;
      if (ptrAt + 2 > buf.length) {
        recordsLost++;
        continue;
      }
      const cell = buf.readUInt16BE(ptrAt);
      try {
        const [payloadLen, a] = varint(buf, cell);
        const [rowid, b] = varint(buf, cell + a);
        const start = cell + a + b;
        const local = localSize(payloadLen);
        if (start + local > buf.length || start + local > pageSize) throw new RangeError("cell past the page");
        const parts: Buffer[] = [buf.subarray(start, start + local)];
        let have = local;
        if (payloadLen > local && start + local + 4 <= buf.length) {
          let next = buf.readUInt32BE(start + local);
          const seen = new Set<number>();
          while (next !== 0 && have < payloadLen && !seen.has(next)) {
            seen.add(next);
            const ov = page(next);
            if (!ov || ov.length < 4) break;
            overflowPages.add(next);
            const take = Math.min(payloadLen - have, usable - 4, ov.length - 4);
            parts.push(ov.subarray(4, 4 + take));
            have += take;
            if (take < usable - 4 && have < payloadLen) break; // the overflow page itself is cut short
            next = ov.readUInt32BE(0);
          }
        }
        const payload = Buffer.concat(parts);
        const values = decodeRecord(payload, text);
        if (!values) {
          recordsLost++;
          continue;
        }
        if (payload.length < payloadLen) recordsPartial++;
        rows.push({ rowid, values });
      } catch {
        recordsLost++;
      }
    }
    return rows;
  };

  /** Every row of the b-tree rooted at `root` that survives. */
  const walkTable = (root: number): SalvagedRow[] => {
    const rows: SalvagedRow[] = [];
    const todo = [root];
    const seen = new Set<number>();
    while (todo.length) {
      const n = todo.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const buf = page(n);
      if (!buf) continue;
      const hdr = n === 1 ? 100 : 0;
      if (buf.length < hdr + 8) continue;
      const type = buf[hdr]!;
      if (type === LEAF_TABLE) {
        reached.add(n);
        rows.push(...leafCells(n, buf));
      } else if (type === INTERIOR_TABLE && buf.length >= hdr + 12) {
        reached.add(n);
        const cells = buf.readUInt16BE(hdr + 3);
        const children: number[] = [];
        for (let i = 0; i < cells; i++) {
          const ptrAt = hdr + 12 + 2 * i;
          if (ptrAt + 2 > buf.length) break;
          const cell = buf.readUInt16BE(ptrAt);
          if (cell + 4 <= buf.length) children.push(buf.readUInt32BE(cell));
        }
        children.push(buf.readUInt32BE(hdr + 8));
        // Depth first, left to right, so rows come out in rowid order.
        for (let i = children.length - 1; i >= 0; i--) todo.push(children[i]!);
      }
    }
    return rows;
  };

  // The schema: sqlite_schema is the table b-tree rooted at page 1.
  const first = page(1);
  if (!first || first.length < pageSize) throw new SalvageError("it is cut short inside its first page, which holds the list of its tables");
  const defs: TableDef[] = [];
  for (const row of walkTable(1)) {
    const [type, name, , rootpage, sql] = row.values;
    if (type !== "table" || typeof name !== "string" || typeof rootpage !== "number" || typeof sql !== "string") continue;
    if (name.startsWith("sqlite_")) continue;
    const parsed = parseCreateTable(sql);
    if (parsed) defs.push({ name, root: rootpage, ...parsed });
  }

  const tables = new Map<string, SalvagedTable>();
  const byRowid = new Map<string, Map<number, SalvagedRow>>();
  for (const def of defs) {
    const rows = new Map<number, SalvagedRow>();
    for (const r of walkTable(def.root)) if (!rows.has(r.rowid)) rows.set(r.rowid, r);
    byRowid.set(def.name, rows);
    tables.set(def.name, { name: def.name, columns: def.columns, rows: [] });
  }

  // Pages on the free list hold stale data: never salvage them as orphans.
  const free = new Set<number>();
  {
    let trunk = main.readUInt32BE(32);
    const fromWal1 = walPages.pages.get(1);
    if (fromWal1) trunk = fromWal1.readUInt32BE(32);
    while (trunk !== 0 && !free.has(trunk)) {
      free.add(trunk);
      const buf = page(trunk);
      if (!buf || buf.length < 8) break;
      const count = buf.readUInt32BE(4);
      for (let i = 0; i < count && 8 + 4 * i + 4 <= buf.length; i++) free.add(buf.readUInt32BE(8 + 4 * i));
      trunk = buf.readUInt32BE(0);
    }
  }

  // Leaves whose parent was lost: give each to the one table its records fit.
  let orphanPagesDropped = 0;
  for (let n = 2; n <= pagesExpected; n++) {
    if (reached.has(n) || overflowPages.has(n) || free.has(n)) continue;
    const buf = page(n);
    if (!buf || buf.length < 8 || buf[0] !== LEAF_TABLE) continue;
    const cells = leafCells(n, buf);
    if (cells.length === 0) continue;
    const owners = defs.filter((d) => cells.every((c) => fits(d, c.values)));
    if (owners.length !== 1) {
      orphanPagesDropped++;
      recordsLost += cells.length;
      continue;
    }
    const rows = byRowid.get(owners[0]!.name)!;
    for (const c of cells) if (!rows.has(c.rowid)) rows.set(c.rowid, c);
  }

  for (const def of defs) {
    const t = tables.get(def.name)!;
    t.rows = [...byRowid.get(def.name)!.values()].sort((a, b) => a.rowid - b.rowid);
    if (def.rowidAlias >= 0) for (const r of t.rows) if (r.values[def.rowidAlias] === null) r.values[def.rowidAlias] = r.rowid;
  }
  return { pageSize, pagesExpected, pagesPresent, tables, recordsLost, recordsPartial, orphanPagesDropped };
}
