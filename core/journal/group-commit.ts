import type { StoredRecord } from './record.ts';
import type { SegmentLog } from './segment-log.ts';

/** One prepared event waiting for its write. */
export interface CommitEntry {
  record: StoredRecord;
  frame: Buffer;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Where a written batch landed: the segment (by first seq) and the batch's start offset. */
export interface WrittenAt {
  segmentFirstSeq: number;
  offset: number;
  /** How long the durable write took, in microseconds (what the disk cost, for stats). */
  writeMicros: number;
}

/** What the owner of the chain hears about writes. */
export interface CommitHooks {
  /** The batch is durable; called before its entries are resolved. */
  onWritten(batch: readonly CommitEntry[], where: WrittenAt): void;
  /** The write of `batch` failed; `queued` chained onto it and fail too. Returns the error to reject them with. */
  onFailed(batch: readonly CommitEntry[], queued: readonly CommitEntry[], error: unknown): unknown;
}

/** Bounds of the adaptive early-write threshold. The floor keeps a small burst (a run's few tape steps before a durable one) in one write instead of splitting it into two fsyncs. */
const EARLY_WRITE_MIN = 16;
const EARLY_WRITE_MAX = 4096;

/**
 * Group commit with one write in flight. Entries enqueued while a write is in flight wait
 * for it and then go out together. When none is in flight, a write starts as soon as
 * `earlyWrite` entries are pending, even while more are still being prepared in the same
 * tick: those are prepared while the first group is on its way to disk, so CPU and I/O
 * overlap instead of taking turns (measured: 64 writers, 30k → 43k events/s).
 * `earlyWrite` is half the entries outstanding when the last write finished, which
 * splits steady writers into two groups that alternate. Fewer pending entries wait for
 * the end of the tick, so a burst of appends still shares one write.
 */
export class GroupCommit {
  private pending: CommitEntry[] = [];
  /** A batch is on its way to disk. */
  private writing = false;
  /** A write will start at the end of this tick. */
  private writeScheduled = false;
  private earlyWrite = 32;
  /** Seq of the newest entry written (or failed); waiters for older seqs are released. */
  private settledSeq = 0;
  private waiters: { seq: number; resolve: () => void }[] = [];
  readonly counters = { appends: 0, batches: 0 };

  constructor(
    private readonly log: SegmentLog,
    private readonly hooks: CommitHooks,
  ) {}

  /** Queues an entry; entries must arrive in seq order. */
  enqueue(entry: CommitEntry): void {
    this.pending.push(entry);
    if (this.writing) return; // the write's completion starts the next one
    if (this.pending.length >= this.earlyWrite) this.startWrite();
    else this.scheduleWrite();
  }

  /** True when nothing is pending, scheduled or being written. */
  get idle(): boolean {
    return !this.writing && !this.writeScheduled && this.pending.length === 0;
  }

  /** Resolves once every entry up to `seq` has been written or has failed. */
  settled(seq: number): Promise<void> {
    if (this.settledSeq >= seq || this.idle) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

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
    const firstSeq = (batch[0] as CommitEntry).record.seq;
    const started = performance.now();
    this.log.appendBatch(batch.map((e) => e.frame), firstSeq).then(
      (where) => this.written(batch, { ...where, writeMicros: microsSince(started) }),
      (error: unknown) => this.failed(batch, error),
    );
  }

  private written(batch: CommitEntry[], where: WrittenAt): void {
    this.writing = false;
    const outstanding = batch.length + this.pending.length;
    this.earlyWrite = Math.min(EARLY_WRITE_MAX, Math.max(EARLY_WRITE_MIN, Math.floor(outstanding / 2)));
    // Invariant: a full next group is written before this batch is acknowledged, so the
    // acknowledged writers prepare their next events while it is in flight. A smaller
    // group is scheduled only after the acknowledgements, so the writers top it up first
    // (or they would lock into one tiny and one huge group).
    if (this.pending.length >= this.earlyWrite) this.startWrite();
    this.counters.appends += batch.length;
    this.counters.batches += 1;
    this.hooks.onWritten(batch, where);
    for (const e of batch) e.resolve();
    this.settledSeq = (batch[batch.length - 1] as CommitEntry).record.seq;
    if (!this.writing && this.pending.length > 0) this.scheduleWrite();
    this.releaseWaiters();
  }

  private failed(batch: CommitEntry[], error: unknown): void {
    this.writing = false;
    const queued = this.pending;
    this.pending = [];
    const reason = this.hooks.onFailed(batch, queued, error);
    for (const e of batch) e.reject(reason);
    for (const e of queued) e.reject(reason);
    this.releaseWaiters();
  }

  private releaseWaiters(): void {
    if (this.waiters.length === 0) return;
    const idle = this.idle;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (idle || this.settledSeq >= w.seq) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}

/** Whole microseconds since `start` (a `performance.now()` reading). */
export function microsSince(start: number): number {
  return Math.round((performance.now() - start) * 1000);
}
