import { open as openFile, rename, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database, SqlJsStatic, Statement } from 'sql.js';
import { ioError, type JsonValue } from '../base/index.ts';
import { loadSqlJs } from '../base/sqljs.ts';
import type { JournalEvent, StoredRecord } from './record.ts';
import { fsyncDir } from './segment-log.ts';

/** Version of the index schema; a snapshot with another version is rebuilt from the log. */
export const INDEX_SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  kind TEXT NOT NULL,
  session_id TEXT,
  run_id TEXT,
  actor TEXT NOT NULL,
  principal TEXT,
  channel TEXT,
  payload TEXT NOT NULL,
  redactions INTEGER NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_session ON events(session_id, seq) WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_run ON events(run_id, seq) WHERE run_id IS NOT NULL;
`;

/**
 * The query view of the journal: a sql.js database holding the most recent `retention`
 * events (older ones stay in the log, readable by streaming). It is never the durability
 * point: it can always be rebuilt from the log, and its snapshot on disk is a plain
 * SQLite file the stock `sqlite3` shell opens.
 */
export class JournalIndex {
  private insert: Statement;
  private sinceSnapshot = 0;
  private lastSeqCache: number;
  private lastHashCache: string | null;

  private constructor(
    private readonly db: Database,
    private readonly snapshotPath: string,
    private readonly retention: number,
  ) {
    db.exec(SCHEMA);
    this.insert = db.prepare(
      'INSERT OR REPLACE INTO events (seq,id,ts,kind,session_id,run_id,actor,principal,channel,payload,redactions,prev_hash,hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)',
    );
    if (this.meta('schema_version') === null) this.setMeta('schema_version', String(INDEX_SCHEMA_VERSION));
    this.lastSeqCache = Number(this.meta('last_seq') ?? 0);
    this.lastHashCache = this.meta('last_hash');
  }

  /**
   * Opens the index from its snapshot, or empty when the snapshot is missing, unreadable
   * or of another schema version (the caller then rebuilds it from the log).
   */
  static async open(snapshotPath: string, options: { retention: number }): Promise<JournalIndex> {
    const SQL = await loadSqlJs();
    const fromSnapshot = tryLoadSnapshot(SQL, snapshotPath);
    return new JournalIndex(fromSnapshot ?? new SQL.Database(), snapshotPath, options.retention);
  }

  /** Seq of the newest event the index holds (0 when empty). */
  get lastSeq(): number {
    return this.lastSeqCache;
  }

  /** Hash of the newest event the index holds, to check it still matches the log. */
  get lastHash(): string | null {
    return this.lastHashCache;
  }

  /** Adds records (in seq order) in one transaction and trims to the retention bound. */
  apply(records: readonly StoredRecord[]): void {
    if (records.length === 0) return;
    const db = this.db;
    db.exec('BEGIN');
    try {
      for (const r of records) {
        this.insert.run([r.seq, r.id, r.ts, r.kind, r.sessionId, r.runId, r.actor, r.principal, r.channel, r.payloadJson, r.redactions, r.prevHash, r.hash]);
      }
      const last = records[records.length - 1] as StoredRecord;
      this.setMeta('last_seq', String(last.seq));
      this.setMeta('last_hash', last.hash);
      this.lastSeqCache = last.seq;
      this.lastHashCache = last.hash;
      this.sinceSnapshot += records.length;
      // Trim in steps of a tenth of the bound, so deletes are rare and large.
      const oldestKept = last.seq - this.retention + 1;
      const oldest = this.oldestSeq();
      if (oldest !== null && oldestKept - oldest >= Math.max(1, Math.floor(this.retention / 10))) {
        db.run('DELETE FROM events WHERE seq < ?', [oldestKept]);
      }
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Drops every event (before a rebuild). */
  reset(): void {
    this.db.exec('DELETE FROM events; DELETE FROM index_meta;');
    this.setMeta('schema_version', String(INDEX_SCHEMA_VERSION));
    this.lastSeqCache = 0;
    this.lastHashCache = null;
    this.sinceSnapshot += 1;
  }

  /** The event at `seq`, or null when it is not (or no longer) in the index. */
  event(seq: number): JournalEvent | null {
    const rows = this.query('SELECT * FROM events WHERE seq = ?', [seq]);
    return rows[0] ?? null;
  }

  /** The newest events, newest first. */
  recent(limit: number): JournalEvent[] {
    return this.query('SELECT * FROM events ORDER BY seq DESC LIMIT ?', [limit]);
  }

  /** Events of one run, in order (the run's tape as far as the index retains it). */
  eventsOfRun(runId: string, afterSeq = 0, limit = 1000): JournalEvent[] {
    return this.query('SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?', [runId, afterSeq, limit]);
  }

  /** Number of events held, and the oldest seq held. */
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
  async snapshot(): Promise<{ bytes: number }> {
    const data = this.db.export();
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
    this.insert.free();
    this.db.close();
  }

  private oldestSeq(): number | null {
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

  private query(sql: string, params: (string | number)[]): JournalEvent[] {
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      const out: JournalEvent[] = [];
      while (stmt.step()) out.push(rowToEvent(stmt.getAsObject()));
      return out;
    } finally {
      stmt.free();
    }
  }
}

function rowToEvent(row: Record<string, unknown>): JournalEvent {
  return {
    v: 1,
    seq: Number(row.seq),
    id: String(row.id),
    ts: Number(row.ts),
    kind: String(row.kind),
    sessionId: (row.session_id as string | null) ?? null,
    runId: (row.run_id as string | null) ?? null,
    actor: String(row.actor),
    principal: (row.principal as string | null) ?? null,
    channel: (row.channel as string | null) ?? null,
    payload: JSON.parse(String(row.payload)) as JsonValue,
    redactions: Number(row.redactions),
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  };
}

function tryLoadSnapshot(SQL: SqlJsStatic, path: string): Database | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  try {
    const db = new SQL.Database(bytes);
    const version = db.exec("SELECT value FROM index_meta WHERE key = 'schema_version'")[0]?.values[0]?.[0];
    if (version !== String(INDEX_SCHEMA_VERSION)) {
      db.close();
      return null;
    }
    return db;
  } catch {
    // A damaged snapshot is only a cache: rebuild from the log.
    return null;
  }
}
