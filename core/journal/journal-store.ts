import { mkdirSync } from 'node:fs';
import { GENESIS_HASH, ioError, newUlid, PalyraError, systemClock, type Clock } from '../base/index.ts';
import { appendCheckpoint, loadOrCreateSigningKey, signCheckpoint, type CheckpointRecord, type SigningKey } from './checkpoints.ts';
import { JournalIndex } from './index-db.ts';
import { journalPaths, type JournalPaths } from './journal-paths.ts';
import { readRecords } from './log-reader.ts';
import {
  GENESIS_KIND,
  JOURNAL_FORMAT_VERSION,
  RECOVERY_KIND,
  toJournalEvent,
  type JournalEvent,
  type StoredRecord,
} from './record.ts';
import { readFrameAt } from './frame-reader.ts';
import { applyCut, lastWellFormed, planRecovery, readOrigin } from './recover.ts';
import { Redactor } from './redact.ts';
import { SegmentLog } from './segment-log.ts';
import { prepareRecord, type AppendInput } from './prepare-record.ts';
import { GroupCommit, type CommitEntry, type WrittenAt } from './group-commit.ts';
import { IndexFeeder } from './index-feeder.ts';
import { syncIndex } from './index-sync.ts';

/** What `append` resolves with once the event is durable. */
export interface AppendResult {
  seq: number;
  id: string;
  ts: number;
  hash: string;
  redactions: number;
}

/** Settings of a journal store; every limit has a default. */
export interface JournalStoreOptions {
  /** The journal folder, `<state>/journal`. */
  dir: string;
  /** Checkpoint signing key (private, created on first use) and its public half. */
  keyPath: string;
  pubPath: string;
  clock?: Clock;
  redactor?: Redactor;
  /** Largest payload accepted, in bytes of canonical JSON (default 1 MiB). */
  maxPayloadBytes?: number;
  /** A segment is closed and a new one started past this size (default 64 MiB). */
  maxSegmentBytes?: number;
  /** Events the in-memory index keeps (default 100,000). */
  indexRetention?: number;
  /** Background index snapshot period (default 30 s; 0 disables the timer). */
  snapshotIntervalMs?: number;
  /** Automatic checkpoint after this many events (default 10,000; 0 disables). */
  checkpointEveryEvents?: number;
  /** Automatic checkpoint period when events were added (default 60 s; 0 disables). */
  checkpointIntervalMs?: number;
  /** Recorded in the genesis event of a new journal. */
  createdBy?: string;
  /** Where background problems (failed snapshot or checkpoint) are reported. */
  onWarning?: (message: string) => void;
}

export type { AppendInput } from './prepare-record.ts';

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Events the in-memory index keeps unless the options say otherwise. */
export const DEFAULT_INDEX_RETENTION = 100_000;


/**
 * The durable, tamper-evident journal. `append` resolves only after the event's frame
 * is fsync'd; appends that arrive while a write is in flight are written together with
 * one fsync (group commit). Secrets are redacted before anything is encoded.
 */
export class JournalStore {
  readonly paths: JournalPaths;
  readonly origin: string;
  private readonly indexDb: JournalIndex;
  private readonly feeder: IndexFeeder;
  readonly redactor: Redactor;
  /** Set when open had to repair a crash: what was cut and where it was kept. */
  readonly recovery: { cutBytes: number; quarantinedTo: string; reason: string } | null;

  private readonly clock: Clock;
  private readonly maxPayloadBytes: number;
  private readonly options: JournalStoreOptions;
  private readonly commit: GroupCommit;
  private autoCheckpointRunning = false;
  /** Head including events not yet durable; new events chain onto it. */
  private head: { seq: number; hash: string };
  /** Head of what is on disk and acknowledged. */
  private durableHead: { seq: number; hash: string };
  private lastCheckpoint: CheckpointRecord | null;
  private checkpointing: Promise<unknown> = Promise.resolve();
  private signingKey: SigningKey | null = null;
  private closed = false;
  private broken: PalyraError | null = null;
  private timers: NodeJS.Timeout[] = [];

  private constructor(
    private readonly log: SegmentLog,
    init: {
      paths: JournalPaths;
      origin: string;
      index: JournalIndex;
      head: { seq: number; hash: string };
      lastCheckpoint: CheckpointRecord | null;
      recovery: JournalStore['recovery'];
      options: JournalStoreOptions;
    },
  ) {
    this.paths = init.paths;
    this.origin = init.origin;
    this.indexDb = init.index;
    this.head = init.head;
    this.durableHead = { ...init.head };
    this.lastCheckpoint = init.lastCheckpoint;
    this.recovery = init.recovery;
    this.options = init.options;
    this.clock = init.options.clock ?? systemClock;
    this.redactor = init.options.redactor ?? new Redactor();
    this.maxPayloadBytes = init.options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.feeder = new IndexFeeder(this.indexDb, (m) => this.warn(m));
    this.commit = new GroupCommit(log, {
      onWritten: (batch, where) => this.written(batch, where),
      onFailed: (batch, queued, error) => this.writeFailed(error),
    });
  }

  /**
   * Opens (or creates) the journal: finds the head, cuts a torn tail left by a crash
   * (keeping the bytes in `quarantine/`), refuses a log that ends before its last signed
   * checkpoint, and brings the index up to date with the log.
   * The caller must hold the state lock.
   */
  static async open(options: JournalStoreOptions): Promise<JournalStore> {
    const paths = journalPaths(options.dir);
    try {
      mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw ioError(`create journal folder "${paths.dir}"`, error);
    }
    const lastCheckpoint = lastWellFormed(paths.checkpoints);
    const plan = planRecovery(paths.segments);
    const headSeq = plan.head?.seq ?? 0;
    if (lastCheckpoint && headSeq < lastCheckpoint.size) {
      throw new PalyraError(
        'PALYRA_JOURNAL_CORRUPT',
        `Journal ends at seq ${headSeq} but signed checkpoint ${lastCheckpoint.n} covers ${lastCheckpoint.size} events: events were removed; run 'palyrad journal verify'`,
      );
    }
    let recovery: JournalStore['recovery'] = null;
    if (plan.cut) {
      const quarantinedTo = applyCut(plan.cut, paths.quarantine);
      recovery = { cutBytes: plan.cut.bytes, quarantinedTo, reason: plan.cut.reason };
    }
    const maxSegmentBytes = options.maxSegmentBytes ?? 64 * 1024 * 1024;
    const log = plan.position ? SegmentLog.openExisting(paths.segments, maxSegmentBytes, plan.position) : SegmentLog.create(paths.segments, maxSegmentBytes);
    const head = plan.head ? { seq: plan.head.seq, hash: plan.head.hash } : { seq: 0, hash: GENESIS_HASH };
    let index: JournalIndex | undefined;
    try {
      const origin = plan.head ? readOrigin(paths) : `palyra:journal:${newUlid()}`;
      const retention = options.indexRetention ?? DEFAULT_INDEX_RETENTION;
      index = await JournalIndex.open(paths.index, { retention });
      syncIndex(index, paths.segments, head, retention);
      const store = new JournalStore(log, { paths, origin, index, head, lastCheckpoint, recovery, options });
      if (!plan.head) {
        await store.append({
          kind: GENESIS_KIND,
          actor: 'system',
          payload: { origin, format: 'palyra-journal', formatVersion: JOURNAL_FORMAT_VERSION, createdBy: options.createdBy ?? 'palyrad' },
        });
      }
      if (recovery) {
        await store.append({ kind: RECOVERY_KIND, actor: 'system', payload: { ...recovery, resumedAfterSeq: head.seq } });
      }
      store.startTimers();
      return store;
    } catch (error) {
      index?.close();
      log.close();
      throw error;
    }
  }

  /** The query index, brought up to date with every acknowledged event. */
  get index(): JournalIndex {
    return this.feeder.index;
  }

  /** The durable head: seq and hash of the newest acknowledged event. */
  get durable(): { seq: number; hash: string } {
    return { ...this.durableHead };
  }

  /**
   * Reads one event: through the index when it holds the seq, else by streaming the log
   * (older events leave the index but never the log). Null when there is no such event.
   */
  readEvent(seq: number): JournalEvent | null {
    if (seq < 1 || seq > this.durableHead.seq) return null;
    const hit = this.feeder.broken ? null : this.index.locate(seq);
    if (hit) return toJournalEvent(readFrameAt(this.paths.segments, hit));
    for (const { record } of readRecords(this.paths.segments, { fromSeq: seq })) return record.seq === seq ? toJournalEvent(record) : null;
    return null;
  }

  /** The newest events the index holds, newest first. */
  recentEvents(limit: number): JournalEvent[] {
    return this.index.recent(limit).map((hit) => toJournalEvent(readFrameAt(this.paths.segments, hit)));
  }

  /** Durable appends and the write batches (fsyncs) they took since open. */
  stats(): { appends: number; batches: number } {
    return { ...this.commit.counters };
  }

  /** The newest checkpoint in the checkpoint file, if any. */
  get latestCheckpoint(): CheckpointRecord | null {
    return this.lastCheckpoint;
  }

  /**
   * Appends one event. Resolves after its frame is on disk; rejects with a clear
   * PalyraError for bad input (nothing is written) or a failed write.
   */
  append(input: AppendInput): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new PalyraError('PALYRA_JOURNAL_CLOSED', 'Cannot append: the journal is closed'));
    if (this.broken) return Promise.reject(this.broken);
    let prepared: { record: StoredRecord; frame: Buffer };
    try {
      prepared = this.prepare(input);
    } catch (error) {
      return Promise.reject(error);
    }
    const { record, frame } = prepared;
    return new Promise<AppendResult>((resolve, reject) => {
      this.commit.enqueue({
        record,
        frame,
        resolve: () => resolve({ seq: record.seq, id: record.id, ts: record.ts, hash: record.hash, redactions: record.redactions }),
        reject,
      });
    });
  }

  /** Resolves when every append made so far is durable (or failed). */
  flushed(): Promise<void> {
    return this.commit.settled(this.head.seq);
  }

  /**
   * Signs a checkpoint over the durable head and appends it to the checkpoint file.
   * Returns the existing checkpoint when it already covers the head.
   */
  checkpoint(): Promise<{ checkpoint: CheckpointRecord; created: boolean }> {
    return this.flushed().then(() => this.signCheckpoint());
  }

  /** Signs a checkpoint over the durable head as it is when its turn comes (one at a time). */
  private signCheckpoint(): Promise<{ checkpoint: CheckpointRecord; created: boolean }> {
    const run = this.checkpointing.then(() => {
      const size = this.durableHead.seq;
      if (this.lastCheckpoint && this.lastCheckpoint.size === size && this.lastCheckpoint.headHash === this.durableHead.hash) {
        return { checkpoint: this.lastCheckpoint, created: false };
      }
      this.signingKey ??= loadOrCreateSigningKey(this.options.keyPath, this.options.pubPath);
      const cp = signCheckpoint({ origin: this.origin, size, headHash: this.durableHead.hash, ts: this.clock.now() }, this.lastCheckpoint, this.signingKey);
      appendCheckpoint(this.paths.checkpoints, cp);
      this.lastCheckpoint = cp;
      return { checkpoint: cp, created: true };
    });
    this.checkpointing = run.catch(() => undefined);
    return run;
  }

  /**
   * Rebuilds the index from the log (the newest `indexRetention` events) and writes its
   * snapshot. For `journal reindex`, when an operator distrusts the index.
   */
  async rebuildIndex(): Promise<{ events: number; oldestSeq: number | null; lastSeq: number; snapshotBytes: number }> {
    await this.flushed();
    const index = this.index;
    index.reset();
    syncIndex(index, this.paths.segments, this.durableHead, this.options.indexRetention ?? DEFAULT_INDEX_RETENTION);
    const snapshot = await this.snapshotIndex();
    return { ...index.stats(), snapshotBytes: snapshot?.bytes ?? 0 };
  }

  /** Writes the index snapshot now if it changed. */
  async snapshotIndex(): Promise<{ bytes: number } | null> {
    if (!this.index.dirty || this.feeder.broken) return null;
    return this.indexDb.snapshot();
  }

  /**
   * Stops accepting appends, waits for in-flight ones, signs a final checkpoint, writes
   * the index snapshot and closes the files. Problems in the last two are reported
   * through `onWarning`: the log itself is already durable.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.flushed();
    await this.checkpointing;
    if (!this.broken && this.durableHead.seq > (this.lastCheckpoint?.size ?? 0)) {
      await this.checkpoint().catch((e: unknown) => this.warn(`final checkpoint failed: ${(e as Error).message}`));
    }
    await this.snapshotIndex().catch((e: unknown) => this.warn(`index snapshot failed: ${(e as Error).message}`));
    this.indexDb.close();
    this.log.close();
  }

  private prepare(input: AppendInput): { record: StoredRecord; frame: Buffer } {
    const prepared = prepareRecord(input, { prev: this.head, redactor: this.redactor, maxPayloadBytes: this.maxPayloadBytes, now: this.clock.now() });
    // Invariant: the in-memory head moves only after everything that can fail on bad input.
    this.head = { seq: prepared.record.seq, hash: prepared.record.hash };
    return prepared;
  }

  /** A batch is durable: move the durable head, feed the index, maybe checkpoint. */
  private written(batch: readonly CommitEntry[], where: WrittenAt): void {
    const last = (batch[batch.length - 1] as CommitEntry).record;
    this.durableHead = { seq: last.seq, hash: last.hash };
    this.feeder.add(batch, where);
    this.maybeAutoCheckpoint();
  }

  /**
   * A failed write rejects the batch and everything queued behind it (their hashes chain
   * onto the failed events); the head rewinds to what is durable.
   */
  private writeFailed(error: unknown): PalyraError {
    this.head = { ...this.durableHead };
    const err = error instanceof PalyraError ? error : new PalyraError('PALYRA_JOURNAL_WRITE_FAILED', `Cannot write to the journal: ${String(error)}`);
    if (err.message.includes('restart to recover')) this.broken = err;
    return err;
  }

  private maybeAutoCheckpoint(): void {
    const every = this.options.checkpointEveryEvents ?? 10_000;
    if (every > 0 && this.durableHead.seq - (this.lastCheckpoint?.size ?? 0) >= every) this.backgroundCheckpoint();
  }

  /**
   * Signs the durable head without waiting for appends in flight (under steady load the
   * store is never idle), and never queues a second automatic checkpoint behind one.
   */
  private backgroundCheckpoint(): void {
    if (this.autoCheckpointRunning) return;
    this.autoCheckpointRunning = true;
    this.signCheckpoint()
      .catch((e: unknown) => this.warn(`automatic checkpoint failed: ${(e as Error).message}`))
      .finally(() => {
        this.autoCheckpointRunning = false;
      });
  }

  private startTimers(): void {
    const cpEvery = this.options.checkpointIntervalMs ?? 60_000;
    if (cpEvery > 0) {
      this.timers.push(
        setInterval(() => {
          if (this.durableHead.seq > (this.lastCheckpoint?.size ?? 0)) this.backgroundCheckpoint();
        }, cpEvery).unref(),
      );
    }
    const snapEvery = this.options.snapshotIntervalMs ?? 30_000;
    if (snapEvery > 0) {
      this.timers.push(
        setInterval(() => {
          this.snapshotIndex().catch((e: unknown) => this.warn(`index snapshot failed: ${(e as Error).message}`));
        }, snapEvery).unref(),
      );
    }
  }

  private warn(message: string): void {
    (this.options.onWarning ?? ((m: string) => process.stderr.write(`palyrad: warning: ${m}\n`)))(message);
  }
}
