import { GENESIS_HASH, ioError, mkdirDurable, newUlid, PalyraError, systemClock, type Clock } from '../base/index.ts';
import { appendCheckpoint, checkpointSignatureValid, loadOrCreateSigningKey, signCheckpoint, type CheckpointRecord, type SigningKey } from './checkpoints.ts';
import { JournalIndex, removeStaleSnapshotTemporaries } from './index-db.ts';
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
import { applyCut, hashAtSeq, newestCheckpoint, planRecovery, readOrigin, refuseAlteredTail, rehashFrom, type RecoveryPlan } from './recover.ts';
import { Redactor } from './redact.ts';
import { SegmentLog } from './segment-log.ts';
import { prepareRecord, type AppendInput } from './prepare-record.ts';
import { MAX_FRAME_BODY_BYTES } from './frame.ts';
import { WriteFailureNotice } from './write-failure-notice.ts';
import { IndexFeeder } from './index-feeder.ts';
import { syncIndex } from './index-sync.ts';
import { inlineWriter, threadWriter, type WriterLink } from './writer-link.ts';
import type { UnsealedRecord, WriterReply } from './writer-protocol.ts';

/** What `append` resolves with once the event is durable. */
export interface AppendResult {
  seq: number;
  id: string;
  ts: number;
  hash: string;
  redactions: number;
  /**
   * Canonical JSON of the payload exactly as written: after redaction. A caller that keeps
   * a live copy of what it journaled applies this, so the copy matches what a restart
   * rebuilds from the log.
   */
  payloadJson: string;
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
  /**
   * Called before every append, checkpoint and index snapshot; throws when this process
   * may no longer write to the journal (the daemon's state lock was lost). The store then
   * stops writing for good: appends are refused with the guard's error.
   */
  writeGuard?: () => void;
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
  /**
   * Chain, frame and write on a thread of its own (the daemon's setting): appends then
   * use the second core. Off by default, since starting the thread costs a short-lived
   * command more than it saves.
   */
  writerThread?: boolean;
  /**
   * While a write is outstanding, keep this thread's event loop turning instead of letting
   * it sleep, for at most POLL_WHILE_WRITING_MS per write (the daemon's setting). A thread
   * that sleeps through a ~300 µs write wakes slowly on this VM and runs cold afterwards:
   * measured, an agent turn's durable wait and the policy decision after it both took
   * ~1.5× as long. Costs at most that much CPU per write while writes are rare.
   * Default: on with `writerThread` (the daemon's pairing), off without.
   */
  pollWhileWriting?: boolean;
}

const POLL_WHILE_WRITING_MS = 2;
/**
 * While the writer thread writes, the index takes the events of the last write for at
 * most this share of the last write's duration, so the write's reply is not kept waiting
 * behind it (what is left goes with the next write). Measured at 64 writers: the time
 * between two writes fell ~10 % (medians of 8 interleaved rounds, 874 → 742 µs with a fast
 * disk, 807 → 740 µs with a slow one); a share of 0.5 left too much for later.
 */
const DRAIN_SHARE_OF_WRITE = 0.8;

/** An event handed to the writer, waiting to hear that it is durable. */
interface Awaiting {
  record: UnsealedRecord;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export type { AppendInput } from './prepare-record.ts';

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/**
 * The payload limit's own bounds. Above: a frame holds at most MAX_FRAME_BODY_BYTES and a
 * record's other fields fit in 64 KiB, so a larger limit could acknowledge an event whose
 * frame no reader accepts (the journal would then not open). Below (for operators' settings;
 * tests go lower): the journal's own events (genesis, recovery) must fit.
 */
export const MAX_PAYLOAD_BYTES_LIMIT = MAX_FRAME_BODY_BYTES - 64 * 1024;
export const MIN_PAYLOAD_BYTES_LIMIT = 4096;
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
  private autoCheckpointRunning = false;
  /** Seq of the newest event handed to the writer (durable or not); the next event gets the one after. */
  private lastSeq: number;
  /** Head of what is on disk and acknowledged. */
  private durableHead: { seq: number; hash: string };
  /** Events handed to the writer and not yet durable, oldest first from `awaitingStart`. */
  private awaiting: Awaiting[] = [];
  private awaitingStart = 0;
  /** Write failures seen; the writer drops events of the epoch a failure voided. */
  private epoch = 0;
  private flushWaiters: { seq: number; resolve: () => void }[] = [];
  /** Deadline of the running poll for a write (0: none runs); see pollUntilWritten. */
  private pollUntil = 0;
  private readonly counters = { appends: 0, batches: 0, writeMicros: 0 };
  private readonly writeFailures: WriteFailureNotice;
  /** How long the last write took (ms): the index update while the next one is on the disk fits in it. */
  private lastWriteMs = Infinity;
  private link!: WriterLink;
  private lastCheckpoint: CheckpointRecord | null;
  private checkpointing: Promise<unknown> = Promise.resolve();
  private signingKey: SigningKey | null = null;
  private closed = false;
  private broken: PalyraError | null = null;
  /** Another process may own the files now (the write guard failed): nothing more is written, not even on close. */
  private abandoned = false;
  private timers: NodeJS.Timeout[] = [];

  private constructor(
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
    this.lastSeq = init.head.seq;
    this.durableHead = { ...init.head };
    this.lastCheckpoint = init.lastCheckpoint;
    this.recovery = init.recovery;
    this.options = init.options;
    this.clock = init.options.clock ?? systemClock;
    this.redactor = init.options.redactor ?? new Redactor();
    this.maxPayloadBytes = init.options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.feeder = new IndexFeeder(this.indexDb, (m) => this.warn(m));
    this.writeFailures = new WriteFailureNotice((m) => this.warn(m), () => this.clock.now());
  }

  /**
   * Opens (or creates) the journal: finds the head, cuts a torn tail left by a crash
   * (keeping the bytes in `quarantine/`), refuses a log that ends before its last signed
   * checkpoint, and brings the index up to date with the log.
   * The caller must hold the state lock.
   */
  static async open(options: JournalStoreOptions): Promise<JournalStore> {
    const limit = options.maxPayloadBytes;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0 && limit <= MAX_PAYLOAD_BYTES_LIMIT)) {
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `The journal's payload limit must be a positive number of bytes up to ${MAX_PAYLOAD_BYTES_LIMIT}, not ${limit}`);
    }
    const paths = journalPaths(options.dir);
    try {
      mkdirDurable(paths.dir);
    } catch (error) {
      throw ioError(`create journal folder "${paths.dir}"`, error);
    }
    const lastCheckpoint = newestCheckpoint(paths.checkpoints);
    // The key is checked before anything changes: a writer that could not sign what it
    // adds (a restore without keys/) is refused now, not found out at the next checkpoint.
    // With it, the newest checkpoint's signature: the checks below trust what it says.
    const signingKey = lastCheckpoint ? loadOrCreateSigningKey(options.keyPath, options.pubPath, { keyId: lastCheckpoint.keyId, checkpoint: lastCheckpoint.n }) : null;
    if (lastCheckpoint && signingKey && !checkpointSignatureValid(lastCheckpoint, signingKey)) {
      throw new PalyraError(
        'PALYRA_JOURNAL_CORRUPT',
        `Checkpoint ${lastCheckpoint.n} in "${paths.checkpoints}" does not carry a valid signature of the journal's key: the checkpoint file was altered; refusing to append; run 'palyrad journal verify'`,
      );
    }
    // Re-hashing starts at the checkpoint's event (or at the newest segment's first, with no
    // checkpoint); refuseAlteredTail covers what the scan did not read (at most 100,000 back).
    const firstRehashed = lastCheckpoint ? lastCheckpoint.size : 1;
    const plan = planRecovery(paths.segments, { watchSeq: lastCheckpoint?.size, rehashFrom: firstRehashed });
    const headSeq = plan.head?.seq ?? 0;
    if (lastCheckpoint && headSeq < lastCheckpoint.size) {
      throw new PalyraError(
        'PALYRA_JOURNAL_CORRUPT',
        `Journal ends at seq ${headSeq} but signed checkpoint ${lastCheckpoint.n} covers ${lastCheckpoint.size} events: events were removed; run 'palyrad journal verify'`,
      );
    }
    // A writer signs what it extends: a log that no longer holds what the last checkpoint
    // signed (rewritten, its chain recomputed) is refused, not carried on and signed again.
    if (lastCheckpoint && lastCheckpoint.size > 0) {
      const signed = plan.hashAtWatched ?? hashAtSeq(paths.segments, lastCheckpoint.size);
      if (signed !== lastCheckpoint.headHash) {
        throw new PalyraError(
          'PALYRA_JOURNAL_CORRUPT',
          `Journal event ${lastCheckpoint.size} does not match signed checkpoint ${lastCheckpoint.n}: the log was rewritten; refusing to append; run 'palyrad journal verify'`,
        );
      }
    }
    refuseAlteredTail(paths.segments, rehashFrom(lastCheckpoint, plan.head?.seq ?? 0), plan);
    const origin = plan.head ? readOrigin(paths) : `palyra:journal:${newUlid()}`;
    const retention = options.indexRetention ?? DEFAULT_INDEX_RETENTION;
    const maxSegmentBytes = options.maxSegmentBytes ?? 64 * 1024 * 1024;
    // Opened before anything is changed: its snapshot is evidence of what the log held.
    removeStaleSnapshotTemporaries(paths.index);
    const index = await JournalIndex.open(paths.index, { retention });
    let recovery: JournalStore['recovery'] = null;
    let log: SegmentLog;
    let lastEventChecked: boolean;
    try {
      lastEventChecked = refuseLostEvents(index, plan, paths, origin);
      if (plan.cut) {
        const quarantinedTo = applyCut(plan.cut, paths.quarantine);
        recovery = { cutBytes: plan.cut.bytes, quarantinedTo, reason: plan.cut.reason };
      }
      log = plan.position ? SegmentLog.openExisting(paths.segments, maxSegmentBytes, plan.position) : SegmentLog.create(paths.segments, maxSegmentBytes);
    } catch (error) {
      index.close();
      throw error;
    }
    const head = plan.head ? { seq: plan.head.seq, hash: plan.head.hash } : { seq: 0, hash: GENESIS_HASH };
    let link: WriterLink | undefined;
    try {
      syncIndex(index, paths.segments, head, retention, lastEventChecked);
      index.recordOrigin(origin);
      const store = new JournalStore({ paths, origin, index, head, lastCheckpoint, recovery, options });
      store.signingKey = signingKey;
      // Replies cannot arrive before the store exists but for a writer thread that dies at once; keep those.
      const early: WriterReply[] = [];
      let deliver = (reply: WriterReply): void => void early.push(reply);
      const onReply = (reply: WriterReply): void => deliver(reply);
      if (options.writerThread) {
        const position = log.end;
        log.close();
        // The index takes the events of the last write while the writer thread writes the next.
        link = await threadWriter({ segmentsDir: paths.segments, maxSegmentBytes, position, head, preallocate: true }, onReply, () => {
          store.pollUntilWritten();
          store.feeder.drainWhileWriting(performance.now() + store.lastWriteMs * DRAIN_SHARE_OF_WRITE);
        });
      } else {
        link = inlineWriter(log, head, onReply);
      }
      store.link = link;
      deliver = (reply) => store.onWriterReply(reply);
      for (const reply of early) deliver(reply);
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
      index.close();
      if (link) await link.close();
      else log.close();
      throw error;
    }
  }

  /** The query index, brought up to date with every acknowledged event. */
  get index(): JournalIndex {
    return this.feeder.index;
  }

  /** Why the journal stopped accepting appends (a write that could not be undone), or null. */
  get failure(): PalyraError | null {
    return this.broken;
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

  /**
   * Up to `limit` durable events after `afterSeq`, oldest first: through the index when it
   * holds them, else by streaming the log from there.
   */
  eventsAfter(afterSeq: number, limit: number): JournalEvent[] {
    const first = Math.max(1, afterSeq + 1);
    const last = Math.min(this.durableHead.seq, afterSeq + limit);
    if (first > last) return [];
    const out: JournalEvent[] = [];
    if (!this.feeder.broken) {
      for (let seq = first; seq <= last; seq++) {
        const hit = this.index.locate(seq);
        if (!hit) break;
        out.push(toJournalEvent(readFrameAt(this.paths.segments, hit)));
      }
      if (out.length === last - first + 1) return out;
    }
    out.length = 0;
    for (const { record } of readRecords(this.paths.segments, { fromSeq: first })) {
      if (record.seq > last) break;
      if (record.seq >= first) out.push(toJournalEvent(record));
    }
    return out;
  }

  /**
   * The events of one run from its event of `firstKind` (the kind that starts the run's
   * record, such as its tape) on, in order, when the index holds them all: read through the
   * index, without streaming the log. The index keeps an unbroken run of the newest events,
   * so holding that first event proves it holds every later one. Events of the run before
   * it (the message that started it) may have left the window and are not returned. Null
   * when the index cannot tell (the first event left its window, or it is broken): the
   * caller then streams the log.
   */
  runEventsFromIndex(runId: string, firstKind: string): JournalEvent[] | null {
    if (this.feeder.broken) return null;
    const index = this.index;
    const hits = [];
    for (let after = 0; ; ) {
      const page = index.ofRun(runId, after, 1000);
      hits.push(...page);
      if (page.length < 1000) break;
      after = (page[page.length - 1] as { seq: number }).seq;
    }
    if (hits.length === 0) return null;
    const events = hits.map((hit) => toJournalEvent(readFrameAt(this.paths.segments, hit)));
    const first = events.findIndex((e) => e.kind === firstKind);
    return first < 0 ? null : events.slice(first);
  }

  /** The newest events the index holds, newest first. */
  recentEvents(limit: number): JournalEvent[] {
    return this.index.recent(limit).map((hit) => toJournalEvent(readFrameAt(this.paths.segments, hit)));
  }

  /**
   * Durable appends, the write batches (fsyncs) they took, and the seconds those writes
   * spent on the disk, since open. `writeSeconds / batches` is the disk's latency; the
   * rest of each batch's cycle is this process's own work.
   */
  stats(): { appends: number; batches: number; writeSeconds: number; writeFailures: number } {
    return { appends: this.counters.appends, batches: this.counters.batches, writeSeconds: this.counters.writeMicros / 1e6, writeFailures: this.writeFailures.failures };
  }

  /** The newest checkpoint in the checkpoint file, if any. */
  get latestCheckpoint(): CheckpointRecord | null {
    return this.lastCheckpoint;
  }

  /**
   * Appends one event. Resolves after its frame is on disk; rejects with a clear
   * PalyraError for bad input (nothing is written) or a failed write. `writeNow`: with
   * the writer thread, start the write at once rather than at the end of this turn of
   * the event loop, so it overlaps what the caller does next.
   */
  append(input: AppendInput, options: { writeNow?: boolean } = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new PalyraError('PALYRA_JOURNAL_CLOSED', 'Cannot append: the journal is closed'));
    if (this.broken) return Promise.reject(this.broken);
    let record: UnsealedRecord;
    try {
      this.guardWrite();
      record = prepareRecord(input, { seq: this.lastSeq + 1, redactor: this.redactor, maxPayloadBytes: this.maxPayloadBytes, now: this.clock.now() });
    } catch (error) {
      return Promise.reject(error);
    }
    // Invariant: the seq is taken only after everything that can fail on bad input.
    this.lastSeq = record.seq;
    return new Promise<AppendResult>((resolve, reject) => {
      if (this.awaitingStart === this.awaiting.length) this.link.hold(true);
      this.awaiting.push({ record, resolve, reject });
      this.link.send(this.epoch, record, options.writeNow);
    });
  }

  /**
   * A write was asked for: turns the event loop without sleeping until nothing is
   * outstanding, or for POLL_WHILE_WRITING_MS from now.
   */
  private pollUntilWritten(): void {
    if (!(this.options.pollWhileWriting ?? this.options.writerThread === true)) return;
    const running = this.pollUntil !== 0;
    this.pollUntil = performance.now() + POLL_WHILE_WRITING_MS;
    if (running) return;
    const poll = (): void => {
      if (this.awaitingStart !== this.awaiting.length && performance.now() < this.pollUntil) setImmediate(poll);
      else this.pollUntil = 0;
    };
    setImmediate(poll);
  }

  /** Resolves when every append made so far is durable (or failed). */
  flushed(): Promise<void> {
    if (this.awaitingStart === this.awaiting.length) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push({ seq: this.lastSeq, resolve }));
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
      this.guardWrite();
      this.signingKey ??= this.loadSigningKey();
      const cp = signCheckpoint({ origin: this.origin, size, headHash: this.durableHead.hash, ts: this.clock.now() }, this.lastCheckpoint, this.signingKey);
      appendCheckpoint(this.paths.checkpoints, cp);
      this.lastCheckpoint = cp;
      return { checkpoint: cp, created: true };
    });
    this.checkpointing = run.catch(() => undefined);
    return run;
  }

  /** The checkpoint key: the one that signed the newest checkpoint, or a new one for a journal that has none. */
  private loadSigningKey(): SigningKey {
    const last = this.lastCheckpoint;
    return loadOrCreateSigningKey(this.options.keyPath, this.options.pubPath, last ? { keyId: last.keyId, checkpoint: last.n } : undefined);
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
    index.recordOrigin(this.origin);
    const snapshot = await this.snapshotIndex();
    return { ...index.stats(), snapshotBytes: snapshot?.bytes ?? 0 };
  }

  /** Writes the index snapshot now if it changed. */
  async snapshotIndex(): Promise<{ bytes: number } | null> {
    if (!this.index.dirty || this.feeder.broken) return null;
    this.guardWrite();
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
    if (!this.abandoned) await this.snapshotIndex().catch((e: unknown) => this.warn(`index snapshot failed: ${(e as Error).message}`));
    this.indexDb.close();
    await this.link.close(this.abandoned);
  }

  private onWriterReply(reply: WriterReply): void {
    if (reply.type === 'written') this.written(reply);
    else if (reply.type === 'failed') this.writeFailed(new PalyraError(reply.code as 'PALYRA_JOURNAL_WRITE_FAILED', reply.message), reply.fatal);
  }

  /** A batch is durable: acknowledge its events, move the durable head, feed the index, maybe checkpoint. */
  private written(batch: Extract<WriterReply, { type: 'written' }>): void {
    const count = batch.frameBytes.length;
    if (this.awaiting.length - this.awaitingStart < count || this.awaiting[this.awaitingStart]?.record.seq !== batch.firstSeq) {
      // The writer and the store disagree on what is outstanding: a bug; stop before acknowledging anything wrong.
      this.writeFailed(new PalyraError('PALYRA_JOURNAL_WRITE_FAILED', `Journal writer reported seq ${batch.firstSeq}, which the store did not expect; restart to recover`), true);
      return;
    }
    let offset = batch.offset;
    let hash = '';
    for (let i = 0; i < count; i++) {
      const { record: r, resolve } = this.awaiting[this.awaitingStart + i] as Awaiting;
      hash = batch.hashes.slice(i * 64, i * 64 + 64);
      this.feeder.add({ seq: r.seq, ts: r.ts, kind: r.kind, sessionId: r.sessionId, runId: r.runId, segment: batch.segmentFirstSeq, offset, hash });
      offset += batch.frameBytes[i] as number;
      resolve({ seq: r.seq, id: r.id, ts: r.ts, hash, redactions: r.redactions, payloadJson: r.payloadJson });
    }
    this.awaitingStart += count;
    this.durableHead = { seq: batch.firstSeq + count - 1, hash };
    this.counters.appends += count;
    this.counters.batches += 1;
    this.counters.writeMicros += batch.writeMicros;
    this.lastWriteMs = batch.writeMicros / 1000;
    this.feeder.batchDone();
    this.compactAwaiting();
    this.releaseFlushWaiters();
    this.maybeAutoCheckpoint();
    this.writeFailures.succeeded(); // last: what it tells cannot hold up the acknowledgements
  }

  /**
   * A failed write rejects every event not yet durable (they chain onto the failed ones);
   * numbering restarts after the durable head. A fatal failure stops all appends.
   */
  private writeFailed(error: PalyraError, fatal: boolean): void {
    if (fatal) this.broken ??= error;
    const failed = this.awaiting.slice(this.awaitingStart);
    this.awaiting = [];
    this.awaitingStart = 0;
    this.epoch += 1;
    this.lastSeq = this.durableHead.seq;
    for (const a of failed) a.reject(error);
    this.link.hold(false);
    this.releaseFlushWaiters();
    this.writeFailures.failed(error.message, failed.length, fatal); // last, as in written()
  }

  /** Drops acknowledged entries from the front of the queue once they are many. */
  private compactAwaiting(): void {
    if (this.awaitingStart === this.awaiting.length) {
      this.awaiting = [];
      this.awaitingStart = 0;
      this.link.hold(false);
    } else if (this.awaitingStart >= 1024) {
      this.awaiting = this.awaiting.slice(this.awaitingStart);
      this.awaitingStart = 0;
    }
  }

  private releaseFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const idle = this.awaitingStart === this.awaiting.length;
    const still: typeof this.flushWaiters = [];
    for (const w of this.flushWaiters) {
      if (idle || this.durableHead.seq >= w.seq) w.resolve();
      else still.push(w);
    }
    this.flushWaiters = still;
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

  /** Throws the write guard's error, after stopping all writing for good (see JournalStoreOptions.writeGuard). */
  private guardWrite(): void {
    const guard = this.options.writeGuard;
    if (!guard) return;
    try {
      guard();
    } catch (error) {
      this.abandon(error instanceof PalyraError ? error : new PalyraError('PALYRA_JOURNAL_WRITE_FAILED', `Cannot write to the journal: ${(error as Error).message}`));
      throw this.broken;
    }
  }

  /**
   * Stops writing for good because another process may own the files now (the daemon's
   * state lock was lost): appends are refused with `error`, and nothing is written again,
   * not a checkpoint, a snapshot, nor the trim of the log's preallocated tail on close.
   */
  abandon(error: PalyraError): void {
    this.broken ??= error;
    this.abandoned = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private warn(message: string): void {
    (this.options.onWarning ?? ((m: string) => process.stderr.write(`palyrad: warning: ${m}\n`)))(message);
  }
}

/**
 * Refuses to open a log that lost events its index snapshot holds. The index is fed only
 * with acknowledged (durable) events and snapshotted every 30 s, so the snapshot is
 * evidence of what the log held, newer than the last signed checkpoint: a log that now
 * ends before the snapshot's newest event (a damaged tail that would be cut as if a crash
 * had torn it, a deleted or truncated segment), or holds another event at that seq (a
 * rewritten tail), has lost acknowledged events. A torn write never reaches the index,
 * so a crash never trips this. Nothing has been changed when it throws. Only a snapshot
 * of this journal (the origin it recorded) counts. Returns true when it found the
 * snapshot's newest event in the log (syncIndex then need not read it again).
 */
function refuseLostEvents(index: JournalIndex, plan: RecoveryPlan, paths: JournalPaths, origin: string): boolean {
  // verify checks the signed checkpoints, not this unsigned snapshot: it may well say ok.
  const wayOut = `'palyrad journal verify' shows what the log holds against its signed checkpoints; to go on from the log as it is, move "${paths.index}" away and open the journal again`;
  // An empty log has no origin yet to tell a stale cache by: a snapshot of any journal
  // with events says a log was here (a lost segments folder, a restore without it).
  if (!plan.head && index.lastSeq > 0) {
    throw new PalyraError(
      'PALYRA_JOURNAL_CORRUPT',
      `The journal's log holds no events, but its index snapshot shows events up to seq ${index.lastSeq} were written: nothing was changed, and no new journal was started over them; ${wayOut}`,
    );
  }
  // A snapshot of another journal (or one older than this check) is only a stale cache.
  if (index.lastSeq === 0 || index.origin !== origin) return false;
  const headSeq = plan.head?.seq ?? 0;
  if (index.lastSeq > headSeq) {
    const damage = plan.cut ? `'s newest segment "${plan.cut.segment.name}" is damaged at byte ${plan.cut.offset} (${plan.cut.reason}); without its tail it` : '';
    throw new PalyraError(
      'PALYRA_JOURNAL_CORRUPT',
      `The journal${damage} ends at seq ${headSeq}, but its index snapshot shows events up to seq ${index.lastSeq} were written: acknowledged events are missing, so nothing was changed; ${wayOut}`,
    );
  }
  const hash = index.lastSeq === headSeq ? plan.head?.hash : hashAtSeq(paths.segments, index.lastSeq);
  if (hash !== index.lastHash) {
    throw new PalyraError(
      'PALYRA_JOURNAL_CORRUPT',
      `Journal event ${index.lastSeq} is not the one its index snapshot recorded: the log was rewritten, so nothing was changed; ${wayOut}`,
    );
  }
  return true;
}
