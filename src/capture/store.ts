// The capture file (.lhdb): a SQLite database written while the target runs and
// read back by `leakhound report`. Each sample is one small transaction in WAL
// mode, so whatever was captured survives leakhound itself being killed.
//
// Per-sample site figures are stored as changes only (a site absent from a row
// kept its previous value), packed as varints and deflated: captures stay small
// on hour-long runs where most sites do not move.
import Database from "better-sqlite3";
import fs from "node:fs";
import zlib from "node:zlib";
import type {
  ActiveTuple,
  HelloMessage,
  RetainerResult,
  SampleMessage,
  SiteTuple,
  Frame,
} from "../protocol/messages.js";
import { emptyProcess, type Capture, type CaptureMeta, type ProcessCapture, type SiteSeries, type SourceSnippet } from "./model.js";

// 2: site tuples may carry free-list bytes and kinds (a blob says its width, see packTuples).
export const CAPTURE_FORMAT = 2;
const MAGIC = "leakhound-capture";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS processes (
  pid INTEGER PRIMARY KEY, hello TEXT NOT NULL, exit_code INTEGER, signal TEXT,
  exited INTEGER NOT NULL DEFAULT 0, retainers TEXT);
CREATE TABLE IF NOT EXISTS stacks (pid INTEGER NOT NULL, id INTEGER NOT NULL, frames TEXT NOT NULL, PRIMARY KEY (pid, id));
CREATE TABLE IF NOT EXISTS samples (
  pid INTEGER NOT NULL, seq INTEGER NOT NULL, t REAL NOT NULL, rss INTEGER NOT NULL, heap INTEGER NOT NULL,
  overhead INTEGER NOT NULL, gc_enabled INTEGER NOT NULL, other_bytes INTEGER NOT NULL, cost REAL NOT NULL,
  sites BLOB, active BLOB, native BLOB, PRIMARY KEY (pid, seq));
CREATE TABLE IF NOT EXISTS logs (pid INTEGER NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS unsupported (pid INTEGER NOT NULL, python TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (file TEXT PRIMARY KEY, start INTEGER NOT NULL, lines TEXT NOT NULL);
`;

/** A capture file that cannot be read; `message` is one line fit for the user. */
export class CaptureError extends Error {}

// Tuples are sorted by id, stored as unsigned LEB128 varints (the id as a delta
// from the previous one, the other values rounded) and deflated. A blob of more
// than 3 values a tuple starts with 0 (no id is 0) and its width.
function packTuples(tuples: readonly (readonly number[])[], width: number): Buffer | null {
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

function unpackTuples(blob: Buffer | null, width: number): number[][] {
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

/** Writes one capture while the target runs. All methods are synchronous and cheap. */
export class CaptureWriter {
  private db: Database.Database;
  private lastSites = new Map<number, Map<number, number[]>>();
  private lastNative = new Map<number, Map<number, number[]>>();
  private insertSample: Database.Statement;
  private insertStack: Database.Statement;
  private insertLog: Database.Statement;
  private setMetaStmt: Database.Statement;
  private closed = false;

  constructor(readonly path: string, meta: Omit<CaptureMeta, "format">) {
    fs.rmSync(path, { force: true });
    fs.rmSync(path + "-wal", { force: true });
    fs.rmSync(path + "-shm", { force: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
    this.setMetaStmt = this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    this.insertSample = this.db.prepare(
      "INSERT OR REPLACE INTO samples (pid, seq, t, rss, heap, overhead, gc_enabled, other_bytes, cost, sites, active, native) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    );
    this.insertStack = this.db.prepare("INSERT OR REPLACE INTO stacks (pid, id, frames) VALUES (?, ?, ?)");
    this.insertLog = this.db.prepare("INSERT INTO logs (pid, level, message) VALUES (?, ?, ?)");
    this.db.transaction(() => {
      this.setMetaStmt.run("magic", JSON.stringify(MAGIC));
      this.setMetaStmt.run("format", JSON.stringify(CAPTURE_FORMAT));
      for (const [k, v] of Object.entries(meta)) this.setMetaStmt.run(k, JSON.stringify(v));
    })();
  }

  setMeta(key: keyof CaptureMeta, value: unknown): void {
    if (this.closed) return;
    this.setMetaStmt.run(key, JSON.stringify(value));
  }

  hello(msg: HelloMessage): void {
    if (this.closed) return;
    this.db.prepare("INSERT OR REPLACE INTO processes (pid, hello) VALUES (?, ?)").run(msg.pid, JSON.stringify(msg));
  }

  unsupported(pid: number, python: string, reason: string): void {
    if (this.closed) return;
    this.db.prepare("INSERT INTO unsupported (pid, python, reason) VALUES (?, ?, ?)").run(pid, python, reason);
  }

  stacks(pid: number, stacks: { id: number; frames: Frame[] }[]): void {
    if (this.closed) return;
    this.db.transaction(() => {
      for (const s of stacks) this.insertStack.run(pid, s.id, JSON.stringify(s.frames));
    })();
  }

  sample(pid: number, msg: SampleMessage): void {
    if (this.closed) return;
    const sites = this.changesOnly(this.lastSites, pid, msg.sites);
    const native = msg.native ? this.changesOnly(this.lastNative, pid, msg.native) : [];
    this.insertSample.run(
      pid,
      msg.seq,
      msg.t,
      Math.round(msg.rss),
      Math.round(msg.heap),
      Math.round(msg.overhead),
      msg.gcEnabled ? 1 : 0,
      Math.round(msg.otherBytes),
      msg.cost,
      packTuples(sites, sites.some((s) => s.length > 3) ? 5 : 3),
      packTuples(msg.active, 2),
      packTuples(native, 3),
    );
  }

  log(pid: number, level: string, message: string): void {
    if (this.closed) return;
    this.insertLog.run(pid, level, message);
  }

  retainers(pid: number, results: RetainerResult[]): void {
    if (this.closed) return;
    this.db.prepare("UPDATE processes SET retainers = ? WHERE pid = ?").run(JSON.stringify(results), pid);
  }

  processEnded(pid: number, exitCode: number | null, signal: string | null, orderly: boolean): void {
    if (this.closed) return;
    this.db
      .prepare("UPDATE processes SET exit_code = coalesce(?, exit_code), signal = coalesce(?, signal), exited = max(exited, ?) WHERE pid = ?")
      .run(exitCode, signal, orderly ? 1 : 0, pid);
  }

  sources(snippets: SourceSnippet[]): void {
    if (this.closed) return;
    const stmt = this.db.prepare("INSERT OR REPLACE INTO sources (file, start, lines) VALUES (?, ?, ?)");
    this.db.transaction(() => {
      for (const s of snippets) stmt.run(s.file, s.start, JSON.stringify(s.lines));
    })();
  }

  /** Folds the WAL into the main file so the capture is one self-contained file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.pragma("wal_checkpoint(TRUNCATE)");
      this.db.pragma("journal_mode = DELETE");
    } finally {
      this.db.close();
    }
  }

  private changesOnly(
    last: Map<number, Map<number, number[]>>,
    pid: number,
    tuples: readonly SiteTuple[],
  ): SiteTuple[] {
    let prev = last.get(pid);
    if (!prev) last.set(pid, (prev = new Map()));
    const out: SiteTuple[] = [];
    for (const tuple of tuples) {
      const [id, ...values] = tuple;
      const p = prev.get(id);
      if (p && p.length === values.length && p.every((v, k) => v === values[k])) continue;
      prev.set(id, values);
      out.push(tuple);
    }
    return out;
  }
}

interface SampleRow {
  pid: number;
  seq: number;
  t: number;
  rss: number;
  heap: number;
  overhead: number;
  gc_enabled: number;
  other_bytes: number;
  cost: number;
  sites: Buffer | null;
  active: Buffer | null;
  native: Buffer | null;
}

function describeSqliteError(file: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/not a database|file is not a database/i.test(msg)) return `${file} is not a leakhound capture (not a SQLite database)`;
  if (/malformed|corrupt/i.test(msg)) return `${file} is damaged (${msg})`;
  return `cannot read ${file}: ${msg}`;
}

/**
 * Reads a capture file. Throws CaptureError when the file is missing, is not a
 * capture, or is damaged beyond reading its header; damage further in yields a
 * capture with `meta.complete = false` and a note, so the report says what it can.
 */
export function readCapture(file: string): Capture {
  if (!fs.existsSync(file)) throw new CaptureError(`${file}: no such file`);
  if (fs.statSync(file).isDirectory()) throw new CaptureError(`${file} is a directory, not a capture file`);
  const truncated = truncationNote(file);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new CaptureError(describeSqliteError(file, err));
  }
  try {
    let metaRows: { key: string; value: string }[];
    try {
      metaRows = db.prepare("SELECT key, value FROM meta").all() as { key: string; value: string }[];
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/no such table/i.test(msg)) throw new CaptureError(`${file} is a SQLite database but not a leakhound capture`);
      throw new CaptureError(describeSqliteError(file, err));
    }
    const metaObj: Record<string, unknown> = {};
    for (const r of metaRows) {
      try {
        metaObj[r.key] = JSON.parse(r.value);
      } catch {
        /* skip a damaged value */
      }
    }
    if (metaObj.magic !== MAGIC) throw new CaptureError(`${file} is a SQLite database but not a leakhound capture`);
    if (typeof metaObj.format !== "number" || metaObj.format > CAPTURE_FORMAT)
      throw new CaptureError(`${file} was written by a newer leakhound (capture format ${String(metaObj.format)})`);
    const meta: CaptureMeta = {
      format: metaObj.format as number,
      leakhoundVersion: String(metaObj.leakhoundVersion ?? "?"),
      createdAt: Number(metaObj.createdAt ?? 0),
      argv: Array.isArray(metaObj.argv) ? (metaObj.argv as string[]) : [],
      cwd: String(metaObj.cwd ?? ""),
      complete: metaObj.complete === true,
      exitCode: typeof metaObj.exitCode === "number" ? metaObj.exitCode : null,
      signal: typeof metaObj.signal === "string" ? metaObj.signal : null,
      notes: Array.isArray(metaObj.notes) ? (metaObj.notes as string[]) : [],
    };
    if (truncated) {
      meta.complete = false;
      meta.notes.push(truncated);
    }
    const capture: Capture = { meta, processes: [], unsupported: [], sources: new Map() };
    const damaged = (what: string, err: unknown) => {
      meta.complete = false;
      meta.notes.push(`part of the capture could not be read (${what}): ${describeSqliteError(file, err)}`);
    };
    try {
      capture.unsupported = db.prepare("SELECT pid, python, reason FROM unsupported").all() as Capture["unsupported"];
    } catch (err) {
      damaged("unsupported interpreters", err);
    }
    try {
      for (const r of db.prepare("SELECT file, start, lines FROM sources").all() as { file: string; start: number; lines: string }[])
        capture.sources.set(r.file, { file: r.file, start: r.start, lines: JSON.parse(r.lines) as string[] });
    } catch (err) {
      damaged("source lines", err);
    }
    let procRows: { pid: number; hello: string; exit_code: number | null; signal: string | null; exited: number; retainers: string | null }[] = [];
    try {
      procRows = db.prepare("SELECT pid, hello, exit_code, signal, exited, retainers FROM processes ORDER BY rowid").all() as typeof procRows;
    } catch (err) {
      damaged("processes", err);
    }
    for (const row of procRows) {
      const proc = emptyProcess(row.pid);
      try {
        const hello = JSON.parse(row.hello) as HelloMessage;
        Object.assign(proc, {
          ppid: hello.ppid,
          python: hello.python,
          executable: hello.executable,
          argv: hello.argv,
          cwd: hello.cwd,
          startedAt: hello.startedAt,
          collector: hello.collector,
        });
        proc.exitCode = row.exit_code;
        proc.signal = row.signal;
        proc.exited = row.exited === 1;
        proc.retainers = row.retainers ? (JSON.parse(row.retainers) as RetainerResult[]) : null;
      } catch (err) {
        damaged(`process ${row.pid}`, err);
      }
      try {
        for (const s of db.prepare("SELECT id, frames FROM stacks WHERE pid = ?").iterate(row.pid) as Iterable<{ id: number; frames: string }>)
          proc.stacks.set(s.id, JSON.parse(s.frames) as Frame[]);
      } catch (err) {
        damaged(`stacks of process ${row.pid}`, err);
      }
      try {
        for (const l of db.prepare("SELECT level, message FROM logs WHERE pid = ? ORDER BY rowid").iterate(row.pid) as Iterable<{ level: string; message: string }>)
          proc.logs.push(l);
      } catch (err) {
        damaged(`logs of process ${row.pid}`, err);
      }
      try {
        readSamples(db, proc);
      } catch (err) {
        damaged(`samples of process ${row.pid}`, err);
      }
      capture.processes.push(proc);
    }
    return capture;
  } finally {
    db.close();
  }
}

/** SQLite's header records the page size and page count; a shorter file was cut off. */
function truncationNote(file: string): string | null {
  try {
    const fd = fs.openSync(file, "r");
    try {
      const head = Buffer.alloc(100);
      if (fs.readSync(fd, head, 0, 100, 0) < 100) return null;
      if (head.toString("latin1", 0, 15) !== "SQLite format 3") return null;
      let pageSize = head.readUInt16BE(16);
      if (pageSize === 1) pageSize = 65536;
      const pages = head.readUInt32BE(28);
      const expected = pageSize * pages;
      const actual = fs.fstatSync(fd).size;
      if (pages > 0 && actual < expected)
        return `the capture file is truncated (${actual} of ${expected} bytes): the report covers what was left`;
      return null;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

function readSamples(db: Database.Database, proc: ProcessCapture): void {
  const rows: SampleRow[] = [];
  // Read row by row so that damage late in the file still leaves the earlier samples.
  try {
    for (const r of db.prepare("SELECT * FROM samples WHERE pid = ? ORDER BY seq").iterate(proc.pid) as Iterable<SampleRow>) rows.push(r);
  } finally {
    decodeSamples(rows, proc);
  }
}

function decodeSamples(rows: SampleRow[], proc: ProcessCapture): void {
  const n = rows.length;
  const build = (get: (r: SampleRow) => Buffer | null, into: Map<number, SiteSeries>) => {
    const current = new Map<number, [number, number, number]>();
    rows.forEach((r, i) => {
      for (const [id, bytes, count, freeList = 0, kinds = 0] of unpackTuples(get(r), 3)) {
        current.set(id, [bytes, count, freeList]);
        if (!into.has(id)) {
          into.set(id, { stackId: id, bytes: new Float64Array(n).fill(NaN), count: new Float64Array(n).fill(NaN) });
        }
        const s = into.get(id)!;
        if (kinds && !s.freeListBytes) s.freeListBytes = new Float64Array(n);
        if (kinds) s.freeListKinds = (s.freeListKinds ?? 0) | kinds;
      }
      for (const [id, [bytes, count, freeList]] of current) {
        const s = into.get(id)!;
        s.bytes[i] = bytes;
        s.count[i] = count;
        if (s.freeListBytes) s.freeListBytes[i] = freeList;
      }
    });
  };
  rows.forEach((r) => {
    proc.samples.push({
      seq: r.seq,
      t: r.t,
      rss: r.rss,
      heap: r.heap,
      overhead: r.overhead,
      gcEnabled: r.gc_enabled === 1,
      otherBytes: r.other_bytes,
      cost: r.cost,
    });
  });
  build((r) => r.sites, proc.sites);
  build((r) => r.native, proc.nativeSites);
  rows.forEach((r, i) => {
    for (const [id, hits] of unpackTuples(r.active, 2) as ActiveTuple[]) {
      let list = proc.active.get(id);
      if (!list) proc.active.set(id, (list = []));
      list.push([i, hits]);
    }
  });
}
