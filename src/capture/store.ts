// The capture file (.lhdb): a SQLite database written while the target runs and
// read back by `leakhound report`. Each sample is one small transaction in WAL
// mode, so whatever was captured survives leakhound itself being killed (it is
// then in the capture's -wal file until the next read applies it).
//
// Per-sample site figures are stored as changes only (a site absent from a row
// kept its previous value), packed as varints and deflated: captures stay small
// on hour-long runs where most sites do not move.
import Database from "better-sqlite3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type {
  ActiveTuple,
  HelloMessage,
  RetainerResult,
  SampleMessage,
  SiteTuple,
  Frame,
  TestMessage,
} from "../protocol/messages.js";
import { Columns } from "./columns.js";
import { packTuples, unpackTuples } from "./tuples.js";
import { CaptureError } from "./capture-error.js";
import { emptyProcess, type Capture, type CaptureMeta, type ExplainReason, type Explanation, type ProcessCapture, type ShutdownMark, type SourceSnippet, type TestRun } from "./model.js";
import { headerPageSize, looksLikeSqlite, SalvageError, salvageSqlite, type SalvagedRow, type SalvageResult, type SqlValue } from "./salvage.js";

// 2: site tuples may carry free-list bytes and kinds (a blob says its width, see packTuples).
// 3: retainer searches are rows of `explanations`, each with its time and reason (live
// explanations); format 1 and 2 captures kept one exit search in processes.retainers.
// 4: test runs of a pytest session are rows of `tests` (the agent's pytest plugin); a `shutdown`
// table says when each process began to shut down (files without it read as before).
export const CAPTURE_FORMAT = 4;
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
  sites BLOB, active BLOB, native BLOB, threads INTEGER, PRIMARY KEY (pid, seq));
CREATE TABLE IF NOT EXISTS logs (pid INTEGER NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS unsupported (pid INTEGER NOT NULL, python TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (file TEXT PRIMARY KEY, start INTEGER NOT NULL, lines TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS explanations (
  pid INTEGER NOT NULL, reason TEXT NOT NULL, t REAL, at INTEGER, visited INTEGER NOT NULL,
  elapsed REAL NOT NULL, truncated INTEGER NOT NULL, results TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tests (pid INTEGER NOT NULL, run TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shutdown (pid INTEGER NOT NULL, t REAL NOT NULL, what TEXT NOT NULL);
`;

export { CaptureError };

/** Writes one capture while the target runs. All methods are synchronous and cheap. */
export class CaptureWriter {
  private db: Database.Database;
  private lastSites = new Map<number, Map<number, number[]>>();
  private lastNative = new Map<number, Map<number, number[]>>();
  private insertSample: Database.Statement;
  private insertStack: Database.Statement;
  private insertLog: Database.Statement;
  private insertTest: Database.Statement | null = null;
  private setMetaStmt: Database.Statement;
  private lastSeq = new Map<number, number>();
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
      "INSERT OR REPLACE INTO samples (pid, seq, t, rss, heap, overhead, gc_enabled, other_bytes, cost, sites, active, native, threads) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
    // One row per sequence number, the first one (the recorder keeps the same).
    if (msg.seq <= (this.lastSeq.get(pid) ?? -Infinity)) return;
    this.lastSeq.set(pid, msg.seq);
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
      typeof msg.threads === "number" ? Math.round(msg.threads) : null,
    );
  }

  log(pid: number, level: string, message: string): void {
    if (this.closed) return;
    this.insertLog.run(pid, level, message);
  }

  explanation(pid: number, e: Explanation): void {
    if (this.closed) return;
    this.db
      .prepare("INSERT INTO explanations (pid, reason, t, at, visited, elapsed, truncated, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(pid, e.reason, e.t, e.at, Math.round(e.visited), e.elapsedSec, e.truncated ? 1 : 0, JSON.stringify(e.results));
  }

  test(pid: number, msg: TestMessage): void {
    if (this.closed) return;
    const { type: _type, ...run } = msg;
    (this.insertTest ??= this.db.prepare("INSERT INTO tests (pid, run) VALUES (?, ?)")).run(pid, JSON.stringify(run));
  }

  shutdown(pid: number, mark: ShutdownMark): void {
    if (this.closed) return;
    this.db.prepare("INSERT INTO shutdown (pid, t, what) VALUES (?, ?, ?)").run(pid, mark.t, mark.what);
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

  /** Deletes a capture file and its WAL companions. */
  static remove(path: string): void {
    for (const f of ["", "-wal", "-shm"]) fs.rmSync(path + f, { force: true });
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

// ---- Reading ---------------------------------------------------------------------
//
// One reader for every use (`leakhound report`, the end of `leakhound run`, the
// live view): it never opens the capture in place, so nothing is created next to
// it (no -wal/-shm). A sound file is opened from memory, or, with a -wal to
// apply, from a private temporary copy of both; a file cut short (shorter than
// its header says) or one SQLite finds damaged is salvaged page by page
// (salvage.ts). Either way the same rows become the same Capture model.

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
  /** Absent in captures from before it was recorded. */
  threads?: number | null;
}

interface ProcessRow {
  pid: number;
  hello: string;
  exit_code: number | null;
  signal: string | null;
  exited: number;
  /** undefined: the value was on a lost page. */
  retainers: string | null | undefined;
}

interface ExplanationRow {
  pid: number;
  reason: string;
  t: number | null;
  at: number | null;
  visited: number;
  elapsed: number;
  truncated: number;
  results: string;
}

/** The capture's tables as rows, however they were read. */
interface CaptureRows {
  /** Tables the file lists. */
  tables: Set<string>;
  meta: { key: string; value: string }[];
  processes: ProcessRow[];
  stacks: { pid: number; id: number; frames: string }[];
  samples: SampleRow[];
  logs: { pid: number; level: string; message: string }[];
  unsupported: { pid: number; python: string; reason: string }[];
  sources: { file: string; start: number; lines: string }[];
  explanations: ExplanationRow[];
  tests: { pid: number; run: string }[];
  shutdown: { pid: number; t: number; what: string }[];
  /** Set when the rows were salvaged: what was lost, for the report's notes. */
  salvage: string[] | null;
}

function describeSqliteError(file: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/not a database|file is not a database/i.test(msg)) return `${file} is not a leakhound capture (not a SQLite database)`;
  if (/malformed|corrupt/i.test(msg)) return `${file} is damaged (${msg})`;
  return `cannot read ${file}: ${msg}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function rowsFromSql(db: Database.Database): CaptureRows {
  const tables = new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]);
  const all = <T>(table: string, sql: string): T[] => (tables.has(table) ? (db.prepare(sql).all() as T[]) : []);
  return {
    tables,
    meta: all("meta", "SELECT key, value FROM meta"),
    processes: all("processes", "SELECT pid, hello, exit_code, signal, exited, retainers FROM processes ORDER BY rowid"),
    stacks: all("stacks", "SELECT pid, id, frames FROM stacks"),
    samples: all("samples", "SELECT * FROM samples ORDER BY pid, seq"),
    logs: all("logs", "SELECT pid, level, message FROM logs ORDER BY rowid"),
    unsupported: all("unsupported", "SELECT pid, python, reason FROM unsupported"),
    sources: all("sources", "SELECT file, start, lines FROM sources"),
    explanations: all("explanations", "SELECT pid, reason, t, at, visited, elapsed, truncated, results FROM explanations ORDER BY rowid"),
    tests: all("tests", "SELECT pid, run FROM tests ORDER BY rowid"),
    shutdown: all("shutdown", "SELECT pid, t, what FROM shutdown ORDER BY rowid"),
    salvage: null,
  };
}

/** Reads the rows of a capture with no -wal to apply: from memory, so nothing is created next to it. */
function readFromMemory(main: Buffer): CaptureRows {
  // A WAL-mode header (bytes 18/19 = 2) would make SQLite look for a -wal; with none to apply, the file alone is the database.
  if (main[18] === 2 || main[19] === 2) main[18] = main[19] = 1;
  const db = new Database(main, { readonly: true });
  try {
    return rowsFromSql(db);
  } finally {
    db.close();
  }
}

/** Reads the rows of a capture and its -wal from a private copy of both (SQLite applies the -wal there, not next to the capture). */
function readFromCopy(file: string, walPath: string): CaptureRows {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "leakhound-read-"));
  try {
    const copy = path.join(dir, "capture.lhdb");
    fs.copyFileSync(file, copy);
    fs.copyFileSync(walPath, copy + "-wal");
    const db = new Database(copy, { readonly: true, fileMustExist: true });
    try {
      return rowsFromSql(db);
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function rowsFromSalvage(s: SalvageResult, damage: string | null): CaptureRows {
  const rows: CaptureRows = {
    tables: new Set(s.tables.keys()),
    meta: [],
    processes: [],
    stacks: [],
    samples: [],
    logs: [],
    unsupported: [],
    sources: [],
    explanations: [],
    tests: [],
    shutdown: [],
    salvage: [],
  };
  let dropped = s.recordsLost;
  /** The rows of `table` as objects; a row missing a `required` column (lost, or the wrong type) is dropped. */
  const objects = (table: string, required: Shape) => {
    const t = s.tables.get(table);
    if (!t) return [];
    const out: Record<string, SqlValue | undefined>[] = [];
    for (const r of t.rows) {
      if (rowFits(t.columns, r, required)) out.push(rowObject(t.columns, r));
      else dropped++;
    }
    return out;
  };
  rows.meta = objects("meta", { key: "string", value: "string" }) as unknown as CaptureRows["meta"];
  // A process keeps what survives of its row: a lost retainers value is only that.
  for (const o of objects("processes", { pid: "number", hello: "string" })) {
    rows.processes.push({
      pid: o.pid as number,
      hello: o.hello as string,
      exit_code: typeof o.exit_code === "number" ? o.exit_code : null,
      signal: typeof o.signal === "string" ? o.signal : null,
      exited: o.exited === 1 ? 1 : 0,
      retainers: o.retainers === undefined ? undefined : typeof o.retainers === "string" ? o.retainers : null,
    });
  }
  rows.stacks = objects("stacks", { pid: "number", id: "number", frames: "string" }) as unknown as CaptureRows["stacks"];
  // Samples store changes only: a sample after a lost one cannot be rebuilt
  // exactly (a site that changed in the lost one would keep a stale value). So
  // only the unbroken run of samples from the first one is kept; rowids, given
  // in insertion order, show where a record is missing.
  const sampleShape = {
    pid: "number", seq: "number", t: "number", rss: "number", heap: "number", overhead: "number",
    gc_enabled: "number", other_bytes: "number", cost: "number", sites: "blob?", active: "blob?", native: "blob?",
  } as const;
  const sampleTable = s.tables.get("samples");
  let samplesAfterLoss = 0;
  if (sampleTable) {
    let expected = 1;
    let broken = false;
    const kept: SalvagedRow[] = [];
    for (const r of sampleTable.rows) {
      if (!broken && r.rowid === expected && rowFits(sampleTable.columns, r, sampleShape)) {
        kept.push(r);
        expected++;
      } else {
        broken = true;
        samplesAfterLoss++;
      }
    }
    rows.samples = kept.map((r) => rowObject(sampleTable.columns, r)) as unknown as SampleRow[];
    rows.samples.sort((a, b) => a.pid - b.pid || a.seq - b.seq);
  }
  rows.logs = objects("logs", { pid: "number", level: "string", message: "string" }) as unknown as CaptureRows["logs"];
  rows.unsupported = objects("unsupported", { pid: "number", python: "string", reason: "string" }) as unknown as CaptureRows["unsupported"];
  rows.sources = objects("sources", { file: "string", start: "number", lines: "string" }) as unknown as CaptureRows["sources"];
  // An answer whose paths were on lost pages keeps its process id, to say so.
  for (const o of objects("explanations", { pid: "number" })) {
    if (typeof o.results !== "string") {
      rows.salvage!.push(`the reference paths of process ${o.pid} were on lost pages`);
      continue;
    }
    rows.explanations.push({
      pid: o.pid as number,
      reason: typeof o.reason === "string" ? o.reason : "exit",
      t: typeof o.t === "number" ? o.t : null,
      at: typeof o.at === "number" ? o.at : null,
      visited: typeof o.visited === "number" ? o.visited : 0,
      elapsed: typeof o.elapsed === "number" ? o.elapsed : 0,
      truncated: o.truncated === 1 ? 1 : 0,
      results: o.results,
    });
  }

  rows.tests = objects("tests", { pid: "number", run: "string" }) as unknown as CaptureRows["tests"];
  rows.shutdown = objects("shutdown", { pid: "number", t: "number", what: "string" }) as unknown as CaptureRows["shutdown"];

  if (s.pagesPresent < s.pagesExpected) {
    const pct = Math.floor((100 * s.pagesPresent) / s.pagesExpected);
    rows.salvage!.push(
      `the capture was cut short at ${pct}% of its pages (${s.pagesPresent} of ${s.pagesExpected}): the report covers what is left`,
    );
  } else {
    rows.salvage!.push(`the capture is damaged${damage ? ` (${damage})` : ""}: the report covers what could be recovered from its pages`);
  }
  if (dropped > 0) rows.salvage!.push(`${dropped} record${dropped === 1 ? "" : "s"} on lost or damaged pages could not be recovered`);
  if (samplesAfterLoss > 0)
    rows.salvage!.push(
      `${samplesAfterLoss} sample${samplesAfterLoss === 1 ? "" : "s"} recovered after a lost one ${samplesAfterLoss === 1 ? "was" : "were"} left out (samples store only what changed, so they cannot be rebuilt exactly)`,
    );
  return rows;
}

type Shape = Record<string, "number" | "string" | "blob?" | "number?" | "string?">;

function rowObject(columns: string[], r: SalvagedRow): Record<string, SqlValue | undefined> {
  const o: Record<string, SqlValue | undefined> = {};
  columns.forEach((c, i) => (o[c] = r.values[i]));
  return o;
}

/** True when every column named in `shape` survived with the expected type. */
function rowFits(columns: string[], r: SalvagedRow, shape: Shape): boolean {
  return Object.entries(shape).every(([col, kind]) => {
    const i = columns.indexOf(col);
    const v = i < 0 ? undefined : r.values[i];
    if (kind === "number") return typeof v === "number";
    if (kind === "string") return typeof v === "string";
    if (kind === "number?") return v === null || typeof v === "number";
    if (kind === "string?") return v === null || typeof v === "string";
    return v === null || Buffer.isBuffer(v);
  });
}

/**
 * Reads a capture file: the one reader of captures. Throws CaptureError (one
 * line, fit for the user) when the file is missing, empty, not a capture, cut
 * inside its first page, or lacks the -wal that holds its data. A capture cut
 * short or damaged further in is salvaged: `meta.complete = false` and a note
 * say what was lost, so the report says what it can.
 */
export function readCapture(file: string): Capture {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new CaptureError(`${file}: no such file`);
  }
  if (st.isDirectory()) throw new CaptureError(`${file} is a directory, not a capture file`);
  if (st.size === 0) throw new CaptureError(`${file} is an empty file, not a leakhound capture`);
  const walPath = file + "-wal";
  let head: Buffer;
  let hasWal: boolean;
  try {
    const fd = fs.openSync(file, "r");
    try {
      head = Buffer.alloc(Math.min(st.size, 100));
      head = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
    } finally {
      fs.closeSync(fd);
    }
    hasWal = fs.existsSync(walPath) && fs.statSync(walPath).size > 0;
  } catch (err) {
    throw new CaptureError(`cannot read ${file}: ${errorText(err)}`);
  }
  if (!looksLikeSqlite(head)) throw new CaptureError(`${file} is not a leakhound capture (not a SQLite database)`);
  const pageSize = headerPageSize(head);
  if (head.length < 100 || (pageSize && st.size < pageSize))
    throw new CaptureError(`${file} is cut short inside its first page (${st.size} bytes): nothing of the capture is left to read`);
  if (!pageSize) throw new CaptureError(`${file} is damaged (its SQLite header gives no valid page size)`);

  // The writer switches back from WAL mode when it closes the capture; a WAL-mode
  // file with no -wal beside it was copied (or left) without the file that holds its data.
  const walMode = head[18] === 2 || head[19] === 2;
  const walMissing = walMode && !fs.existsSync(walPath);
  const headerPages = head.readUInt32BE(92) === head.readUInt32BE(24) ? head.readUInt32BE(28) : 0;
  const truncated = st.size < headerPages * pageSize;

  let rows: CaptureRows | null = null;
  let damage: string | null = null;
  if (!truncated) {
    try {
      rows = hasWal ? readFromCopy(file, walPath) : readFromMemory(fs.readFileSync(file));
    } catch (err) {
      damage = errorText(err);
    }
  }
  if (!rows) {
    try {
      rows = rowsFromSalvage(salvageSqlite(fs.readFileSync(file), hasWal ? fs.readFileSync(walPath) : null), damage);
    } catch (err) {
      if (err instanceof SalvageError) throw new CaptureError(`${file} is damaged: ${err.message}`);
      throw new CaptureError(damage ? describeSqliteError(file, new Error(damage)) : `cannot read ${file}: ${errorText(err)}`);
    }
  }

  const walName = path.basename(walPath);
  if (!rows.tables.has("meta")) {
    if (walMissing)
      throw new CaptureError(
        `${file} holds no data: its ${walName} file is missing, and that file holds the data of a run that did not close its capture (copy both together)`,
      );
    throw new CaptureError(`${file} is a SQLite database but not a leakhound capture`);
  }
  const capture = buildCapture(file, rows);
  if (walMissing) {
    capture.meta.complete = false;
    capture.meta.notes.push(`the capture's ${walName} file is missing: the report covers only the part already folded into ${path.basename(file)}`);
  }
  return capture;
}

function buildCapture(file: string, rows: CaptureRows): Capture {
  const metaObj: Record<string, unknown> = {};
  for (const r of rows.meta) {
    try {
      metaObj[r.key] = JSON.parse(r.value);
    } catch {
      /* skip a damaged value */
    }
  }
  if (rows.salvage === null || metaObj.magic !== undefined) {
    if (metaObj.magic !== MAGIC) throw new CaptureError(`${file} is a SQLite database but not a leakhound capture`);
    if (typeof metaObj.format !== "number" || metaObj.format > CAPTURE_FORMAT)
      throw new CaptureError(`${file} was written by a newer leakhound (capture format ${String(metaObj.format)})`);
  } else if (!["processes", "samples", "stacks"].every((t) => rows.tables.has(t))) {
    throw new CaptureError(`${file} is a SQLite database but not a leakhound capture`);
  }
  const meta: CaptureMeta = {
    format: typeof metaObj.format === "number" ? metaObj.format : CAPTURE_FORMAT,
    leakhoundVersion: String(metaObj.leakhoundVersion ?? "?"),
    createdAt: Number(metaObj.createdAt ?? 0),
    argv: Array.isArray(metaObj.argv) ? (metaObj.argv as string[]) : [],
    cwd: String(metaObj.cwd ?? ""),
    complete: metaObj.complete === true,
    exitCode: typeof metaObj.exitCode === "number" ? metaObj.exitCode : null,
    signal: typeof metaObj.signal === "string" ? metaObj.signal : null,
    stoppedBy: metaObj.stoppedBy === "leakhound" || metaObj.stoppedBy === "detached" ? metaObj.stoppedBy : null,
    notes: Array.isArray(metaObj.notes) ? (metaObj.notes as string[]) : [],
  };
  if (rows.salvage) {
    meta.complete = false;
    meta.notes.push(...rows.salvage);
    if (metaObj.magic === undefined) meta.notes.push("the capture's own description (command, version) was lost");
  }
  const capture: Capture = { meta, processes: [], unsupported: rows.unsupported, sources: new Map() };
  const damaged = (what: string, err: unknown) => {
    meta.complete = false;
    meta.notes.push(`part of the capture could not be read (${what}): ${errorText(err)}`);
  };
  for (const r of rows.sources) {
    try {
      capture.sources.set(r.file, { file: r.file, start: r.start, lines: JSON.parse(r.lines) as string[] });
    } catch (err) {
      damaged(`source lines of ${r.file}`, err);
    }
  }
  const byPid = new Map<number, ProcessCapture>();
  for (const row of rows.processes) {
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
    } catch (err) {
      damaged(`process ${row.pid}`, err);
    }
    proc.exitCode = row.exit_code;
    proc.signal = row.signal;
    proc.exited = row.exited === 1;
    if (row.retainers === undefined) meta.notes.push(`the reference paths of process ${row.pid} were on lost pages`);
    else if (row.retainers) {
      // Format 1 and 2: the one search, at the process's exit.
      try {
        const results = JSON.parse(row.retainers) as RetainerResult[];
        proc.explanations.push({ reason: "exit", t: null, at: null, results, visited: 0, elapsedSec: 0, truncated: false });
      } catch (err) {
        damaged(`reference paths of process ${row.pid}`, err);
      }
    }
    byPid.set(row.pid, proc);
    capture.processes.push(proc);
  }
  // A salvaged capture may keep samples of a process whose own row was lost.
  const lostProcesses = new Set<number>();
  const procOf = (pid: number): ProcessCapture => {
    let proc = byPid.get(pid);
    if (!proc) {
      proc = emptyProcess(pid);
      byPid.set(pid, proc);
      capture.processes.push(proc);
      lostProcesses.add(pid);
    }
    return proc;
  };
  for (const s of rows.stacks) {
    try {
      procOf(s.pid).stacks.set(s.id, JSON.parse(s.frames) as Frame[]);
    } catch (err) {
      damaged(`a stack of process ${s.pid}`, err);
    }
  }
  for (const l of rows.logs) procOf(l.pid).logs.push({ level: l.level, message: l.message });
  for (const e of rows.explanations) {
    try {
      procOf(e.pid).explanations.push({
        reason: explainReason(e.reason),
        t: e.t,
        at: e.at,
        results: JSON.parse(e.results) as RetainerResult[],
        visited: e.visited,
        elapsedSec: e.elapsed,
        truncated: e.truncated === 1,
      });
    } catch (err) {
      damaged(`reference paths of process ${e.pid}`, err);
    }
  }
  for (const r of rows.tests) {
    try {
      procOf(r.pid).tests.push(JSON.parse(r.run) as TestRun);
    } catch (err) {
      damaged(`a test run of process ${r.pid}`, err);
    }
  }
  for (const m of rows.shutdown) {
    if (m.what === "main-end" || m.what === "threads-end" || m.what === "atexit" || m.what === "signal") {
      (procOf(m.pid).shutdown ??= []).push({ t: m.t, what: m.what });
    }
  }
  const samplesByPid = new Map<number, SampleRow[]>();
  for (const r of rows.samples) {
    let list = samplesByPid.get(r.pid);
    if (!list) samplesByPid.set(r.pid, (list = []));
    list.push(r);
  }
  for (const [pid, list] of samplesByPid) {
    const bad = decodeSamples(list, procOf(pid));
    if (bad > 0) damaged(`samples of process ${pid}`, new Error(`a sample's data is unreadable: it and the ${bad - 1} after it were left out`));
  }
  for (const pid of lostProcesses) {
    const proc = byPid.get(pid)!;
    if (proc.samples.length > 0) {
      // Its start message was lost; the samples still tell the interval.
      const ts = proc.samples.map((s) => s.t);
      const gaps = ts.slice(1).map((t, i) => t - ts[i]!).filter((g) => g > 0).sort((a, b) => a - b);
      proc.collector = { ...proc.collector, intervalSec: gaps.length ? gaps[Math.floor(gaps.length / 2)]! : 0.5 };
    }
    meta.notes.push(`the description of process ${pid} (its Python, collector) was lost`);
  }
  return capture;
}

function explainReason(text: string): ExplainReason {
  return text === "live" || text === "request" || text === "before-stop" || text === "shutdown" ? text : "exit";
}

/** Fills a process's samples and series from its rows (sorted by seq); returns how many rows were unreadable. */
function decodeSamples(rows: SampleRow[], proc: ProcessCapture): number {
  const decoded: { r: SampleRow; sites: number[][]; native: number[][]; active: number[][] }[] = [];
  let bad = 0;
  let lastSeq = -Infinity;
  for (const r of rows) {
    if (r.seq === lastSeq) continue;
    if (bad > 0) {
      bad++; // after an unreadable sample, the changes-only values cannot be rebuilt
      continue;
    }
    try {
      decoded.push({ r, sites: unpackTuples(r.sites, 3), native: unpackTuples(r.native, 3), active: unpackTuples(r.active, 2) });
      lastSeq = r.seq;
    } catch {
      bad++;
    }
  }
  const n = decoded.length;
  // Kept as change points, as the recorder keeps them (columns.ts).
  const sites = new Columns();
  const native = new Columns();
  decoded.forEach((d, i) => {
    sites.apply(i, d.sites as SiteTuple[]);
    native.apply(i, d.native as SiteTuple[]);
  });
  for (const { r } of decoded) {
    proc.samples.push({
      seq: r.seq,
      t: r.t,
      rss: r.rss,
      heap: r.heap,
      overhead: r.overhead,
      gcEnabled: r.gc_enabled === 1,
      otherBytes: r.other_bytes,
      cost: r.cost,
      ...(typeof r.threads === "number" ? { threads: r.threads } : {}),
    });
  }
  for (const [id, series] of sites.view(n)) proc.sites.set(id, series);
  for (const [id, series] of native.view(n)) proc.nativeSites.set(id, series);
  decoded.forEach((d, i) => {
    for (const [id, hits] of d.active as ActiveTuple[]) {
      let list = proc.active.get(id);
      if (!list) proc.active.set(id, (list = []));
      list.push([i, hits]);
    }
  });
  return bad;
}
