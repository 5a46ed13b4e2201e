import { microsSince, type CommitEntry, type CommitHooks, type WrittenAt } from './group-commit.ts';
import type { SegmentLog } from './segment-log.ts';

/**
 * Group commit for the writer thread, where blocking on a write costs nothing else: the
 * owner queues everything that has arrived and calls `flush`, which writes it in one
 * blocking write; whatever arrives meanwhile goes out together in the next. The thread
 * pool's round trips are skipped, and the group size follows the load by itself.
 */
export class SyncGroupCommit {
  private pending: CommitEntry[] = [];
  readonly counters = { appends: 0, batches: 0 };

  constructor(
    private readonly log: SegmentLog,
    private readonly hooks: CommitHooks,
  ) {}

  /** Queues an entry; entries must arrive in seq order. Nothing is written until `flush`. */
  enqueue(entry: CommitEntry): void {
    this.pending.push(entry);
  }

  /** True when nothing is pending. */
  get idle(): boolean {
    return this.pending.length === 0;
  }

  /** Writes are synchronous: after `flush`, everything queued is settled. */
  settled(): Promise<void> {
    this.flush();
    return Promise.resolve();
  }

  /** Writes everything queued, blocking until it is durable (or the write failed). */
  flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let where: WrittenAt;
    const started = performance.now();
    try {
      // Properties are evaluated in order: the duration is read after the write returned.
      where = { ...this.log.appendBatchSync(batch.map((e) => e.frame), (batch[0] as CommitEntry).record.seq), writeMicros: microsSince(started) };
    } catch (error) {
      this.hooks.onFailed(batch, [], error);
      return;
    }
    this.counters.appends += batch.length;
    this.counters.batches += 1;
    this.hooks.onWritten(batch, where);
  }
}
