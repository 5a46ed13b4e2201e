import { mkdirSync } from 'node:fs';
import { canonicalJson, GENESIS_HASH, ioError, newUlid, PalyraError, systemClock, type Clock, type JsonValue } from '../base/index.ts';
import { appendCheckpoint, loadOrCreateSigningKey, readCheckpoints, signCheckpoint, type CheckpointRecord, type SigningKey } from './checkpoints.ts';
import { encodeFrame } from './frame.ts';
import { JournalIndex, type IndexEntry } from './index-db.ts';
import { journalPaths, type JournalPaths } from './journal-paths.ts';
import { readRecords } from './log-reader.ts';
import {
  assertKind,
  assertName,
  computeRecordHash,
  GENESIS_KIND,
  JOURNAL_FORMAT_VERSION,
  RECOVERY_KIND,
  toJournalEvent,
  type JournalEvent,
  type StoredRecord,
} from './record.ts';
import { readFrameAt } from './frame-reader.ts';
import { applyCut, planRecovery } from './recover.ts';
import { Redactor } from './redact.ts';
import { SegmentLog } from './segment-log.ts';
import { syncIndex } from './index-sync.ts';

/** What a caller hands to `append`. The store assigns seq, id (unless given), ts and hashes. */
export interface AppendInput {
  kind: string;
  payload: JsonValue;
  sessionId?: string | null;
  runId?: string | null;
  actor?: string;
  principal?: string | null;
  channel?: string | null;
  id?: string;
}

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

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
const INDEX_BATCH = 4096;
/** Bounds of the adaptive early-write threshold (see onPending). */
const EARLY_WRITE_MIN = 4;
const EARLY_WRITE_MAX = 4096;
const INDEX_DELAY_MS = 20;

interface Pending {
  record: StoredRecord;
  frame: Buffer;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The durable, tamper-evident journal. `append` resolves only after the event's frame
 * is fsync'd; appends that arrive while a write is in flight are written together with
 * one fsync (group commit). Secrets are redacted before anything is encoded.
 */
export class JournalStore {
  readonly paths: JournalPaths;
  readonly origin: string;
  private readonly indexDb: JournalIndex;
  readonly redactor: Redactor;
  /** Set when open had to repair a crash: what was cut and where it was kept. */
  readonly recovery: { cutBytes: number; quarantinedTo: string; reason: string } | null;

  private readonly clock: Clock;
  private readonly maxPayloadBytes: number;
  private readonly options: JournalStoreOptions;
  private pending: Pending[] = [];
  /** A batch is on its way to disk. */
  private writing = false;
  /** A write will start at the end of this tick. */
  private writeScheduled = false;
  /** Pending events that start a write mid-tick; adapts to the number of concurrent writers. */
  private earlyWrite = 32;
  /** Callers of `flushed()`, each waiting for the durable head to reach `seq`. */
  private flushWaiters: { seq: number; resolve: () => void }[] = [];
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
  private indexBroken = false;
  private timers: NodeJS.Timeout[] = [];
  private counters = { appends: 0, batches: 0 };
  /** Acknowledged events not yet in the index; applied in large transactions. */
  private indexBacklog: IndexEntry[] = [];
  private indexTimer: NodeJS.Timeout | null = null;

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
      const retention = options.indexRetention ?? 100_000;
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
    this.drainIndex();
    return this.indexDb;
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
    const hit = this.indexBroken ? null : this.index.locate(seq);
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
    return { ...this.counters };
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
    let pending: Omit<Pending, 'resolve' | 'reject'>;
    try {
      pending = this.prepare(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ record: pending.record, frame: pending.frame, resolve, reject });
      this.onPending();
    });
  }

  /** Resolves when every append made so far is durable (or failed). */
  flushed(): Promise<void> {
    // Invariant: `head` counts every accepted append; once the durable head reaches it
    // (or everything in flight failed and the head was rewound), all are settled.
    const seq = this.head.seq;
    if (this.durableHead.seq >= seq || this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push({ seq, resolve }));
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

  /** Writes the index snapshot now if it changed. */
  async snapshotIndex(): Promise<{ bytes: number } | null> {
    if (!this.index.dirty || this.indexBroken) return null;
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

  private prepare(input: AppendInput): Omit<Pending, 'resolve' | 'reject'> {
    assertKind(input.kind);
    assertName('actor', input.actor);
    assertName('session id', input.sessionId);
    assertName('run id', input.runId);
    assertName('principal', input.principal);
    assertName('channel', input.channel);
    assertName('event id', input.id);
    let payloadJson: string;
    let redactions: number;
    try {
      const redacted = this.redactor.redact(input.payload);
      payloadJson = canonicalJson(redacted.value);
      redactions = redacted.count;
    } catch (error) {
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid payload for "${input.kind}": ${(error as Error).message}`);
    }
    const bytes = Buffer.byteLength(payloadJson);
    if (bytes > this.maxPayloadBytes) {
      throw new PalyraError(
        'PALYRA_PAYLOAD_TOO_LARGE',
        `Payload of "${input.kind}" is ${bytes} bytes, over the journal limit of ${this.maxPayloadBytes} bytes`,
      );
    }
    const ts = this.clock.now();
    const fields = {
      v: JOURNAL_FORMAT_VERSION,
      seq: this.head.seq + 1,
      id: input.id ?? newUlid(ts),
      ts,
      kind: input.kind,
      sessionId: input.sessionId ?? null,
      runId: input.runId ?? null,
      actor: input.actor ?? 'system',
      principal: input.principal ?? null,
      channel: input.channel ?? null,
      payloadJson,
      redactions,
      prevHash: this.head.hash,
    };
    const record: StoredRecord = { ...fields, hash: computeRecordHash(fields) };
    const frame = encodeFrame(record);
    // Invariant: the in-memory head moves only after everything that can fail on bad input.
    this.head = { seq: record.seq, hash: record.hash };
    return { record, frame };
  }

  /**
   * Group commit with one write in flight. Appends made while a write is in flight wait
   * for it and then go out together. When none is in flight, a write starts as soon as
   * `earlyWrite` events are pending, even while more appends are still being prepared in
   * the same tick: those are prepared while the first group is on its way to disk, so
   * CPU and I/O overlap instead of taking turns (measured: 64 writers, 30k → 43k events/s).
   * `earlyWrite` is half the appends outstanding when the last write finished, which
   * splits steady writers into two groups that alternate. Fewer pending events wait for
   * the end of the tick, so a burst of appends still shares one write.
   */
  private onPending(): void {
    if (this.writing) return; // the write's completion starts the next one
    if (this.pending.length >= this.earlyWrite) this.startWrite();
    else this.scheduleWrite();
  }

  /** Starts a write of whatever is pending at the end of this tick. */
  private scheduleWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    queueMicrotask(() => {
      this.writeScheduled = false;
      if (!this.writing && this.pending.length > 0) this.startWrite();
    });
  }

  private startWrite(): void {
    const batch = this.pending;
    this.pending = [];
    this.writing = true;
    this.log
      .appendBatch(
        batch.map((p) => p.frame),
        (batch[0] as Pending).record.seq,
      )
      .then(
        (where) => {
          this.writing = false;
          const outstanding = batch.length + this.pending.length;
          this.earlyWrite = Math.min(EARLY_WRITE_MAX, Math.max(EARLY_WRITE_MIN, Math.floor(outstanding / 2)));
          // Invariant: a full next group is written before this batch is acknowledged, so
          // the acknowledged writers prepare their next events while it is in flight. A
          // smaller group is scheduled only after the acknowledgements, so the writers
          // top it up first (or it would lock them into one tiny and one huge group).
          if (this.pending.length >= this.earlyWrite) this.startWrite();
          this.acknowledge(batch, where);
          if (!this.writing && this.pending.length > 0) this.scheduleWrite();
          this.notifyFlushWaiters();
        },
        (error: unknown) => {
          this.writing = false;
          this.failAll(batch, error);
          this.notifyFlushWaiters();
        },
      );
  }

  private isIdle(): boolean {
    return !this.writing && !this.writeScheduled && this.pending.length === 0;
  }

  private notifyFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const idle = this.isIdle();
    const still: typeof this.flushWaiters = [];
    for (const w of this.flushWaiters) {
      if (idle || this.durableHead.seq >= w.seq) w.resolve();
      else still.push(w);
    }
    this.flushWaiters = still;
  }

  private acknowledge(batch: Pending[], where: { segmentFirstSeq: number; offset: number }): void {
    this.counters.appends += batch.length;
    this.counters.batches += 1;
    const last = (batch[batch.length - 1] as Pending).record;
    this.durableHead = { seq: last.seq, hash: last.hash };
    this.applyToIndex(batch, where);
    for (const p of batch) {
      const r = p.record;
      p.resolve({ seq: r.seq, id: r.id, ts: r.ts, hash: r.hash, redactions: r.redactions });
    }
    this.maybeAutoCheckpoint();
  }

  /**
   * A failed write rejects the batch and everything queued behind it (their hashes chain
   * onto the failed events), and rewinds the head to what is durable.
   */
  private failAll(batch: Pending[], error: unknown): void {
    const queued = this.pending;
    this.pending = [];
    this.head = { ...this.durableHead };
    const err = error instanceof PalyraError ? error : new PalyraError('PALYRA_JOURNAL_WRITE_FAILED', `Cannot write to the journal: ${String(error)}`);
    if (err.message.includes('restart to recover')) this.broken = err;
    for (const p of [...batch, ...queued]) p.reject(err);
  }

  /**
   * Queues a written batch for the index. The index is updated in transactions of up to
   * INDEX_BATCH events (or after INDEX_DELAY_MS), which costs a third of updating it per
   * write batch; every read through `index` applies the backlog first.
   */
  private applyToIndex(batch: Pending[], where: { segmentFirstSeq: number; offset: number }): void {
    if (this.indexBroken) return;
    let offset = where.offset;
    for (const { record: r, frame } of batch) {
      this.indexBacklog.push({ seq: r.seq, ts: r.ts, kind: r.kind, sessionId: r.sessionId, runId: r.runId, segment: where.segmentFirstSeq, offset, hash: r.hash });
      offset += frame.length;
    }
    if (this.indexBacklog.length >= INDEX_BATCH) this.drainIndex();
    else this.indexTimer ??= setTimeout(() => this.drainIndex(), INDEX_DELAY_MS).unref();
  }

  private drainIndex(): void {
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.indexTimer = null;
    if (this.indexBacklog.length === 0 || this.indexBroken) return;
    const entries = this.indexBacklog;
    this.indexBacklog = [];
    try {
      this.indexDb.apply(entries);
    } catch (error) {
      // The index is a cache of the log: stop feeding it and rebuild on the next open.
      this.indexBroken = true;
      this.warn(`index update failed, it will be rebuilt on restart: ${(error as Error).message}`);
    }
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

function lastWellFormed(checkpointsPath: string): CheckpointRecord | null {
  const lines = readCheckpoints(checkpointsPath);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line && 'record' in line) return line.record;
  }
  return null;
}

/** Reads the journal's origin from its genesis event. */
function readOrigin(paths: JournalPaths): string {
  const first = readRecords(paths.segments).next();
  if (first.done || first.value.record.seq !== 1 || first.value.record.kind !== GENESIS_KIND) {
    throw new PalyraError('PALYRA_JOURNAL_CORRUPT', `Journal in "${paths.dir}" does not start with its genesis event: run 'palyrad journal verify'`);
  }
  const payload = JSON.parse(first.value.record.payloadJson) as { origin?: unknown };
  if (typeof payload.origin !== 'string') {
    throw new PalyraError('PALYRA_JOURNAL_CORRUPT', `Genesis event of the journal in "${paths.dir}" names no origin`);
  }
  return payload.origin;
}
