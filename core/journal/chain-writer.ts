import { PalyraError } from '../base/index.ts';
import { encodeFrame } from './frame.ts';
import { GroupCommit, type CommitEntry, type WrittenAt } from './group-commit.ts';
import { computeRecordHash, type StoredRecord } from './record.ts';
import { SegmentLog } from './segment-log.ts';
import { SyncGroupCommit } from './sync-group-commit.ts';
import type { UnsealedRecord, WriterReply, WriterStart } from './writer-protocol.ts';

const settleNothing = (): void => undefined;

/**
 * Zeroed space is kept ahead only while writes are small. Zeroing makes a lone durable
 * write cheaper (no metadata commit) but writes every byte twice; once group commit
 * gathers this many events per write, the writer is busy with throughput and the zeroing
 * only takes bandwidth and delays the next write behind a slice of zeros. Measured with
 * 64 writers (batches of 64), 8 interleaved rounds: 39.5k appends/s zeroing, 47.4k not.
 */
export const ZERO_AHEAD_MAX_BATCH = 16;

/**
 * The write side of the journal: chains numbered events onto the head (prevHash, hash),
 * frames them and writes them with group commit, reporting every durable batch through
 * `reply`. It runs where the store puts it — on the store's own thread, or alone on a
 * writer thread so that hashing, framing and the writes use the second core.
 */
export class ChainWriter {
  private head: { seq: number; hash: string };
  private durableHead: { seq: number; hash: string };
  private readonly commit: GroupCommit | SyncGroupCommit;
  /** Newest epoch seen from the store, and the epoch whose events a failure voided. */
  private epoch = 0;
  private voidedEpoch = -1;
  /** Events in the last durable write (see ZERO_AHEAD_MAX_BATCH). */
  private lastBatchEvents = 0;

  constructor(
    private readonly log: SegmentLog,
    head: { seq: number; hash: string },
    private readonly reply: (message: WriterReply) => void,
    /** Blocking writes: only on a thread of its own, which has nothing else to do meanwhile. */
    blocking = false,
  ) {
    this.head = { ...head };
    this.durableHead = { ...head };
    const hooks = {
      onWritten: (batch: readonly CommitEntry[], where: WrittenAt) => this.written(batch, where),
      onFailed: (_batch: readonly CommitEntry[], _queued: readonly CommitEntry[], error: unknown) => this.failed(error),
    };
    this.commit = blocking ? new SyncGroupCommit(log, hooks) : new GroupCommit(log, hooks);
  }

  /** Opens the log where the store found its end (the store planned recovery already), for a writer thread. */
  static start(start: WriterStart, reply: (message: WriterReply) => void): ChainWriter {
    const log = SegmentLog.openExisting(start.segmentsDir, start.maxSegmentBytes, start.position, { preallocate: start.preallocate });
    return new ChainWriter(log, start.head, reply, true);
  }

  /** Chains and queues `records`, which must continue the chain's numbering. */
  append(epoch: number, records: readonly UnsealedRecord[]): void {
    if (epoch <= this.voidedEpoch) return; // the store rejected these when it heard of the failure
    this.epoch = epoch;
    for (const unsealed of records) {
      if (unsealed.seq !== this.head.seq + 1) {
        // A bug in the store, never bad input: stop rather than write a broken chain.
        this.fail(new PalyraError('PALYRA_JOURNAL_WRITE_FAILED', `Journal writer expected seq ${this.head.seq + 1} but got ${unsealed.seq}; restart to recover`), true);
        return;
      }
      const record = unsealed as StoredRecord;
      record.prevHash = this.head.hash;
      // The hash covers every field but itself (hashInput never reads `hash`).
      record.hash = computeRecordHash(record);
      this.head = { seq: record.seq, hash: record.hash };
      this.commit.enqueue({ record, frame: encodeFrame(record), resolve: settleNothing, reject: settleNothing });
    }
  }

  /** Writes what `append` queued now, when writes are blocking (the writer thread); async writes start by themselves. */
  flush(): void {
    if (this.commit instanceof SyncGroupCommit) this.commit.flush();
  }

  /**
   * Zeroes one slice of space ahead of the log when it wants more (see SegmentLog) and
   * writes are small (see ZERO_AHEAD_MAX_BATCH); true when it did. For idle moments.
   */
  zeroAhead(): boolean {
    return this.commit.idle && this.lastBatchEvents < ZERO_AHEAD_MAX_BATCH && this.log.zeroAhead();
  }

  /** True when nothing is queued or being written. */
  get idle(): boolean {
    return this.commit.idle;
  }

  /** Resolves once everything queued so far is written (or failed). */
  settled(): Promise<void> {
    return this.commit.settled(this.head.seq);
  }

  /** Waits for queued writes, then closes the log; `abandon` (the lock was lost) leaves the file's tail as it is (see SegmentLog.close). */
  async close(abandon = false): Promise<void> {
    await this.settled();
    this.log.close({ keepTail: abandon });
  }

  private written(batch: readonly CommitEntry[], where: WrittenAt): void {
    this.lastBatchEvents = batch.length;
    let hashes = '';
    const frameBytes: number[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i] as CommitEntry;
      hashes += entry.record.hash;
      frameBytes[i] = entry.frame.length;
    }
    const last = (batch[batch.length - 1] as CommitEntry).record;
    this.durableHead = { seq: last.seq, hash: last.hash };
    this.reply({ type: 'written', firstSeq: (batch[0] as CommitEntry).record.seq, hashes, frameBytes, segmentFirstSeq: where.segmentFirstSeq, offset: where.offset, writeMicros: where.writeMicros });
  }

  private failed(error: unknown): unknown {
    const fatal = error instanceof PalyraError && error.message.includes('restart to recover');
    this.fail(error, fatal);
    return error;
  }

  /** Voids the current epoch: its unwritten events are dropped and the chain restarts at the durable head. */
  private fail(error: unknown, fatal: boolean): void {
    this.voidedEpoch = this.epoch;
    this.head = { ...this.durableHead };
    const err = error instanceof PalyraError ? error : new PalyraError('PALYRA_JOURNAL_WRITE_FAILED', `Cannot write to the journal: ${String(error)}`);
    this.reply({ type: 'failed', code: err.code, message: err.message, fatal });
  }
}
