import { open as openFile, rename, rm } from 'node:fs/promises';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Database, SqlJsStatic, Statement } from 'sql.js';
import { fsyncDir, ioError } from '../base/index.ts';
import { loadSqlJs } from '../base/sqljs.ts';
import type { FramePointer } from './frame-reader.ts';

/** Version of the index schema; a snapshot with another version is rebuilt from the log. */
export const INDEX_SCHEMA_VERSION = 1;

/**
 * The schema the index lives in: an in-memory database attached to the connection. sql.js
 * keeps a file database in an emulated file whose every commit copies the dirty pages out
 * of the wasm heap and whose growth reallocates and copies the whole file; measured here
 * that was half of the index's cost per event (4.4 → 2.3 µs in memory). Unqualified
 * names resolve to it, as the connection's own (main) database holds no tables.
 */
const LIVE = 'live';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${LIVE}.index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ${LIVE}.events (
  seq INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  kind TEXT NOT NULL,
  session_id TEXT,
  run_id TEXT,
  segment INTEGER NOT NULL,
  offset INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ${LIVE}.events_by_session ON events(session_id, seq) WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${LIVE}.events_by_run ON events(run_id, seq) WHERE run_id IS NOT NULL;
`;

/** What the index keeps of an event: what queries filter on, and where its frame is. */
export interface IndexEntry {
  seq: number;
  ts: number;
  kind: string;
  sessionId: string | null;
  runId: string | null;
  /** First seq of the segment holding the frame (the segment's name). */
  segment: number;
  offset: number;
  hash: string;
}

/** An event found through the index: its seq and where to read it. */
export interface IndexHit extends FramePointer {
  seq: number;
}

const COLUMNS = 7;
/** Rows per multi-row INSERT: fewer statement runs cross the JS/wasm boundary far less. */
const ROWS_PER_INSERT = 16;

/**
 * The index is trimmed to its retention bound once it is over by a tenth of the bound or
 * by this many rows, whichever is less; one update deletes at most this many rows, or
 * twice as many as it added. Deleting a tenth of the default bound (10,000 rows) at once
 * took 12–14 ms on the store's thread, a stall in the path of every append waiting for its
 * write (measured with 64 writers: ~5 % of the throughput); a step of this size takes
 * well under a millisecond and mostly falls within an index update that overlaps a write.
 */
const TRIM_STEP_MAX = 512;

/**
 * The query view of the journal: a sql.js database holding, for the newest `retention`
 * events, what queries filter on (kind, session, run, time) and where each frame lies in
 * the log. Payloads stay in the log: copying them into sql.js cost 15× more per event
 * than the rest of an append. The index is never the durability point: it is rebuilt
 * from the log when missing or stale, and its snapshot is a plain SQLite file.
 */
export class JournalIndex {
  // Prepared in setUp(), again after a reset.
  private insertOne!: Statement;
  private insertMany!: Statement;
  private upsertMeta!: Statement;
  private sinceSnapshot = 0;
  /** The snapshot being written (or done): the next one starts after it. */
  private snapshotting: Promise<unknown> = Promise.resolve();
  private lastSeqCache: number;
  private lastHashCache: string | null;
  private oldestCache: number | null;
  /** Excess rows over the retention bound that trigger a trim (see TRIM_STEP_MAX). */
  private readonly trimStep: number;

  private constructor(
    private readonly SQL: SqlJsStatic,
    private readonly db: Database,
    private readonly snapshotPath: string,
    private readonly retention: number,
    /** Whether this index came from its snapshot file (false: started empty, to be rebuilt from the log). */
    readonly fromSnapshot: boolean,
  ) {
    this.trimStep = Math.max(1, Math.min(Math.floor(retention / 10), TRIM_STEP_MAX));
    this.setUp();
    this.lastSeqCache = Number(this.meta('last_seq') ?? 0);
    this.lastHashCache = this.meta('last_hash');
    this.oldestCache = this.queryOldest();
  }

  /** Creates what is missing of the live schema and prepares the statements appends use. */
  private setUp(): void {
    const db = this.db;
    // The index is a cache rebuilt from the log: its rollback journal stays in memory (a
    // failed transaction still rolls back) and snapshots are made durable separately.
    db.exec(`PRAGMA temp_store=MEMORY; PRAGMA ${LIVE}.journal_mode=MEMORY;`);
    db.exec(SCHEMA);
    const row = `(${Array(COLUMNS).fill('?').join(',')})`;
    // Plain INSERT: the log never holds two events with one seq, so a conflict is a bug
    // that must surface (the store then stops feeding the index and rebuilds it later).
    this.insertOne = db.prepare(`INSERT INTO events VALUES ${row}`);
    this.insertMany = db.prepare(`INSERT INTO events VALUES ${Array(ROWS_PER_INSERT).fill(row).join(',')}`);
    this.upsertMeta = db.prepare('INSERT OR REPLACE INTO index_meta (key, value) VALUES (?, ?), (?, ?)');
    if (this.meta('schema_version') === null) this.setMeta('schema_version', String(INDEX_SCHEMA_VERSION));
  }

  private freeStatements(): void {
    this.insertOne.free();
    this.insertMany.free();
    this.upsertMeta.free();
  }

  /**
   * Opens the index from its snapshot, or empty when the snapshot is missing, unreadable
   * or of another schema version (the caller then rebuilds it from the log).
   */
  static async open(snapshotPath: string, options: { retention: number }): Promise<JournalIndex> {
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    db.exec(`ATTACH ':memory:' AS ${LIVE}`);
    if (tryLoadSnapshot(SQL, db, snapshotPath)) {
      try {
        return new JournalIndex(SQL, db, snapshotPath, options.retention, true);
      } catch {
        // A snapshot that passed its checks and still cannot be used: a cache, so rebuilt.
      }
    }
    // Whatever a failed load left is dropped with its database.
    db.exec(`DETACH ${LIVE}; ATTACH ':memory:' AS ${LIVE}`);
    return new JournalIndex(SQL, db, snapshotPath, options.retention, false);
  }

  /** Seq of the newest event the index holds (0 when empty). */
  get lastSeq(): number {
    return this.lastSeqCache;
  }

  /** Seq of the oldest event the index holds (null when empty). */
  get oldestSeq(): number | null {
    return this.oldestCache;
  }

  /** Hash of the newest event the index holds, to check it still matches the log. */
  get lastHash(): string | null {
    return this.lastHashCache;
  }

  /**
   * The origin of the journal this index was built for (its genesis event's), or null for
   * a snapshot written before indexes recorded it. Tells a snapshot of this journal, whose
   * newer events are evidence of what the log held, from one of another journal (a stale
   * cache, rebuilt).
   */
  get origin(): string | null {
    return this.meta('origin');
  }

  /** Records the journal's origin (kept in snapshots from now on). */
  recordOrigin(origin: string): void {
    if (this.meta('origin') === origin) return;
    this.setMeta('origin', origin);
    this.sinceSnapshot += 1;
  }

  /**
   * Adds entries (in seq order) in one transaction and trims to the retention bound.
   * With `until` (a `performance.now()` time), stops adding once it has passed, checked
   * every ROWS_PER_INSERT rows; returns how many entries (a prefix) were added.
   */
  apply(entries: readonly IndexEntry[], until = Infinity): number {
    if (entries.length === 0) return 0;
    const db = this.db;
    let added = 0;
    db.exec('BEGIN');
    try {
      const values: (string | number | null)[] = [];
      // Whole groups first, the rest row by row; the first group or rows always go in.
      while (added < entries.length && (added === 0 || performance.now() < until)) {
        values.length = 0;
        if (entries.length - added >= ROWS_PER_INSERT) {
          for (let j = added; j < added + ROWS_PER_INSERT; j++) pushRow(values, entries[j] as IndexEntry);
          this.insertMany.run(values);
          added += ROWS_PER_INSERT;
        } else {
          for (; added < entries.length; added++) {
            values.length = 0;
            pushRow(values, entries[added] as IndexEntry);
            this.insertOne.run(values);
          }
        }
      }
      const last = entries[added - 1] as IndexEntry;
      this.upsertMeta.run(['last_seq', String(last.seq), 'last_hash', last.hash]);
      this.oldestCache ??= (entries[0] as IndexEntry).seq;
      const oldestKept = last.seq - this.retention + 1;
      if (this.oldestCache !== null && oldestKept - this.oldestCache >= this.trimStep) {
        // Far over the bound (a lower retention set over a large snapshot), it catches up over
        // later updates, each deleting a step more than it added.
        const step = Math.max(TRIM_STEP_MAX, 2 * added);
        db.run('DELETE FROM events WHERE seq < ?', [Math.min(oldestKept, this.oldestCache + step)]);
        this.oldestCache = this.queryOldest();
      }
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
    const last = entries[added - 1] as IndexEntry;
    this.lastSeqCache = last.seq;
    this.lastHashCache = last.hash;
    this.sinceSnapshot += added;
    return added;
  }

  /** Drops every event and all metadata but the origin (before a rebuild). */
  reset(): void {
    const origin = this.meta('origin');
    this.freeStatements();
    // A new database rather than DELETE: the old one may be the thing that is broken (a
    // damaged page fails the DELETE too, and `journal reindex` could then never repair it).
    this.db.exec(`DETACH ${LIVE}; ATTACH ':memory:' AS ${LIVE}`);
    this.setUp();
    // The origin says which journal the index belongs to; a rebuild keeps that (decision 22).
    if (origin !== null) this.setMeta('origin', origin);
    this.oldestCache = null;
    this.lastSeqCache = 0;
    this.lastHashCache = null;
    this.sinceSnapshot += 1;
  }

  /** Where the event at `seq` is, or null when it is not (or no longer) in the index. */
  locate(seq: number): IndexHit | null {
    return this.hits('SELECT seq, segment, offset FROM events WHERE seq = ?', [seq])[0] ?? null;
  }

  /** The newest events, newest first. */
  recent(limit: number): IndexHit[] {
    return this.hits('SELECT seq, segment, offset FROM events ORDER BY seq DESC LIMIT ?', [limit]);
  }

  /** Events of one run after `afterSeq`, in order (the run's tape as far as the index retains it). */
  ofRun(runId: string, afterSeq = 0, limit = 1000): IndexHit[] {
    return this.hits('SELECT seq, segment, offset FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?', [runId, afterSeq, limit]);
  }

  /** Events of one session after `afterSeq`, in order. */
  ofSession(sessionId: string, afterSeq = 0, limit = 1000): IndexHit[] {
    return this.hits('SELECT seq, segment, offset FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?', [sessionId, afterSeq, limit]);
  }

  /** Number of events held, the oldest seq held, and the newest. */
  stats(): { events: number; oldestSeq: number | null; lastSeq: number } {
    const row = this.db.exec('SELECT COUNT(*), MIN(seq) FROM events')[0]?.values[0] ?? [0, null];
    return { events: Number(row[0]), oldestSeq: row[1] === null ? null : Number(row[1]), lastSeq: this.lastSeq };
  }

  /** True when events were added since the last snapshot. */
  get dirty(): boolean {
    return this.sinceSnapshot > 0;
  }

  /**
   * Writes the database to its snapshot file atomically: a temporary file, fsync,
   * rename over the old snapshot, fsync the folder. A crash leaves the old or the new
   * snapshot, never a mix. Returns the size written.
   */
  snapshot(): Promise<{ bytes: number }> {
    // One at a time: the timer's snapshot and close()'s can overlap, and both write the
    // same temporary file (one rename then found it gone).
    const run = this.snapshotting.then(() => this.writeSnapshot());
    this.snapshotting = run.catch(() => undefined);
    return run;
  }

  private async writeSnapshot(): Promise<{ bytes: number }> {
    const data = this.exportLive();
    this.sinceSnapshot = 0;
    const tmp = `${this.snapshotPath}.tmp-${process.pid}`;
    try {
      const handle = await openFile(tmp, 'w', 0o600);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.snapshotPath);
      fsyncDir(dirname(this.snapshotPath));
    } catch (error) {
      this.sinceSnapshot += 1;
      await rm(tmp, { force: true });
      throw ioError(`write index snapshot "${this.snapshotPath}"`, error);
    }
    return { bytes: data.length };
  }

  /** Frees the database. */
  close(): void {
    this.freeStatements();
    this.db.close();
  }

  /**
   * The live database as the bytes of a plain SQLite file: copied page by page into a
   * presized file database (no rollback journal: it is thrown away if the copy fails),
   * then exported.
   */
  private exportLive(): Uint8Array {
    const pragma = (name: string): number => Number(this.db.exec(`PRAGMA ${LIVE}.${name}`)[0]?.values[0]?.[0] ?? 0);
    const out = new this.SQL.Database(presizedFile(this.SQL, pragma('page_count'), pragma('page_size')));
    try {
      out.exec('PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF');
      copyDatabase(this.SQL, { db: out, name: 'main' }, { db: this.db, name: LIVE });
      return out.export();
    } finally {
      out.close();
    }
  }

  private queryOldest(): number | null {
    const v = this.db.exec('SELECT MIN(seq) FROM events')[0]?.values[0]?.[0];
    return v === null || v === undefined ? null : Number(v);
  }

  private meta(key: string): string | null {
    const v = this.db.exec('SELECT value FROM index_meta WHERE key = ?', [key])[0]?.values[0]?.[0];
    return typeof v === 'string' ? v : null;
  }

  private setMeta(key: string, value: string): void {
    this.db.run('INSERT OR REPLACE INTO index_meta (key, value) VALUES (?, ?)', [key, value]);
  }

  private hits(sql: string, params: (string | number)[]): IndexHit[] {
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      const out: IndexHit[] = [];
      while (stmt.step()) {
        const [seq, segment, offset] = stmt.get() as number[];
        out.push({ seq: Number(seq), segment: Number(segment), offset: Number(offset) });
      }
      return out;
    } finally {
      stmt.free();
    }
  }
}

function pushRow(values: (string | number | null)[], e: IndexEntry): void {
  values.push(e.seq, e.ts, e.kind, e.sessionId, e.runId, e.segment, e.offset);
}

/**
 * Loads the snapshot at `path` into `db`'s live schema. False when it is missing,
 * unreadable, of another schema version or cannot be copied: the caller then starts empty
 * and rebuilds from the log (the snapshot is only a cache).
 */
function tryLoadSnapshot(SQL: SqlJsStatic, db: Database, path: string): boolean {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return false;
  }
  let snapshot: Database | null = null;
  try {
    snapshot = new SQL.Database(bytes);
    const version = snapshot.exec("SELECT value FROM index_meta WHERE key = 'schema_version'")[0]?.values[0]?.[0];
    if (version !== String(INDEX_SCHEMA_VERSION)) return false;
    if (!snapshotIsSound(snapshot)) return false;
    copyDatabase(SQL, { db, name: LIVE }, { db: snapshot, name: 'main' });
    return true;
  } catch {
    return false;
  } finally {
    snapshot?.close();
  }
}

const EVENT_COLUMNS = ['seq', 'ts', 'kind', 'session_id', 'run_id', 'segment', 'offset'];

/**
 * Whether a snapshot can be trusted as this index: SQLite's own page check passes (the
 * online backup copies damaged pages without looking), the tables have this version's
 * columns, and the events are the unbroken run of seqs its metadata says ends at
 * `last_seq` (rows deleted by hand, or a dropped table, would otherwise load as current).
 */
function snapshotIsSound(snapshot: Database): boolean {
  const first = (sql: string): unknown[] => snapshot.exec(sql)[0]?.values[0] ?? [];
  if (first('PRAGMA quick_check')[0] !== 'ok') return false;
  const columns = snapshot.exec('PRAGMA table_info(events)')[0]?.values.map((row) => row[1]) ?? [];
  if (columns.join(',') !== EVENT_COLUMNS.join(',')) return false;
  const [count, oldest, newest] = first('SELECT COUNT(*), MIN(seq), MAX(seq) FROM events') as [number, number | null, number | null];
  const lastSeq = Number(first("SELECT value FROM index_meta WHERE key = 'last_seq'")[0] ?? 0);
  if (count === 0) return lastSeq === 0;
  return oldest !== null && newest !== null && newest === lastSeq && newest - oldest + 1 === count;
}

/**
 * The bytes of an empty database file already as large as the copy it will receive:
 * sql.js grows an emulated file by an eighth at a time, reallocating and copying all of it
 * each time, which took tens of milliseconds more for 100k events' index. The copy
 * overwrites every page and sets the size; the zeros past the first page are never read.
 */
function presizedFile(SQL: SqlJsStatic, pages: number, pageSize: number): Uint8Array {
  const blank = new SQL.Database();
  try {
    blank.exec(`PRAGMA page_size=${pageSize}; PRAGMA user_version=0`);
    const firstPage = blank.export();
    const file = new Uint8Array(Math.max(pages * pageSize, firstPage.length));
    file.set(firstPage);
    return file;
  } finally {
    blank.close();
  }
}

/** sql.js exports SQLite's online backup functions; its typings do not list them. */
interface SqlJsBackup {
  cwrap(name: string, returns: 'number', args: ('number' | 'string')[]): (...args: (number | string)[]) => number;
}
const SQLITE_DONE = 101;

/** Copies one attached database over another, page by page (SQLite's online backup), within sql.js's one wasm heap. */
function copyDatabase(SQL: SqlJsStatic, to: { db: Database; name: string }, from: { db: Database; name: string }): void {
  const api = SQL as unknown as SqlJsBackup;
  const pointer = (db: Database): number => (db as unknown as { db: number }).db;
  const init = api.cwrap('sqlite3_backup_init', 'number', ['number', 'string', 'number', 'string']);
  const step = api.cwrap('sqlite3_backup_step', 'number', ['number', 'number']);
  const finish = api.cwrap('sqlite3_backup_finish', 'number', ['number']);
  const backup = init(pointer(to.db), to.name, pointer(from.db), from.name);
  if (backup === 0) throw new Error(`cannot copy the index database (${from.name} → ${to.name})`);
  const stepped = step(backup, -1);
  const finished = finish(backup);
  if (stepped !== SQLITE_DONE || finished !== 0) throw new Error(`copying the index database failed (SQLite codes ${stepped}, ${finished})`);
}

/**
 * Removes the temporary snapshot files (`index.sqlite.tmp-<pid>`) a writer killed
 * mid-snapshot left behind; each can be as large as the index. Only for a writer holding
 * the state lock: a reader beside a daemon would delete the daemon's file in the making.
 */
export function removeStaleSnapshotTemporaries(snapshotPath: string): void {
  const prefix = `${basename(snapshotPath)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dirname(snapshotPath));
  } catch {
    return; // no folder yet: nothing left behind
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))) rmSync(join(dirname(snapshotPath), name), { force: true });
  }
}
