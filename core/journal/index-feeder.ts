import type { IndexEntry, JournalIndex } from './index-db.ts';

/** Index updates are applied in transactions of up to this many events... */
const INDEX_BATCH = 4096;
/** ...or after this delay, whichever comes first. */
const INDEX_DELAY_MS = 20;
/**
 * While a write is on the disk, the backlog is applied only from this many events: a
 * transaction costs ~60–80 µs before its first row, which a daemon answering one message
 * at a time (a write every few events) paid on every write, ~240 µs of each message's
 * main-thread time; the timer then gathers them instead.
 */
const DRAIN_WHILE_WRITING_MIN = 64;

/**
 * Feeds written events to the index: the store drains a large backlog whenever its main
 * thread would otherwise wait for the disk (a write was just asked of the writer thread),
 * and a timer catches the rest. Every read through `index` applies the backlog
 * first, so readers never miss an acknowledged event. If an update fails, the index (a
 * cache of the log) is no longer fed and is rebuilt on the next open. Measured: an update
 * costs ~2.3 µs per event beyond its fixed cost, whether it carries 64 events or 4,096.
 */
export class IndexFeeder {
  private backlog: IndexEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private brokenFlag = false;

  constructor(
    private readonly db: JournalIndex,
    private readonly warn: (message: string) => void,
  ) {}

  /** The index, up to date with every event added so far. */
  get index(): JournalIndex {
    this.drain();
    return this.db;
  }

  /** True once an update failed; the index is then stale until rebuilt. */
  get broken(): boolean {
    return this.brokenFlag;
  }

  /** Queues the entries of written events. */
  add(entry: IndexEntry): void {
    if (this.brokenFlag) return;
    this.backlog.push(entry);
  }

  /** Call after a written batch's entries were added: applies or schedules the backlog. */
  batchDone(): void {
    if (this.brokenFlag) return;
    if (this.backlog.length >= INDEX_BATCH) this.drain();
    else this.timer ??= setTimeout(() => this.drain(), INDEX_DELAY_MS).unref();
  }

  /**
   * Time on this thread is free (a write is on the disk): applies the backlog if it is
   * large enough to be worth a transaction, stopping at `until` (`performance.now()`
   * time; what is left waits for the next write) so that the write's reply is not kept
   * waiting behind the index.
   */
  drainWhileWriting(until = Infinity): void {
    if (this.backlog.length >= DRAIN_WHILE_WRITING_MIN) this.drain(until);
  }

  /** Applies the backlog now (up to `until`, see drainWhileWriting). */
  drain(until = Infinity): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.backlog.length === 0 || this.brokenFlag) return;
    const entries = this.backlog;
    this.backlog = [];
    try {
      const added = this.db.apply(entries, until);
      if (added < entries.length) {
        this.backlog = entries.slice(added);
        this.timer = setTimeout(() => this.drain(), INDEX_DELAY_MS).unref();
      }
    } catch (error) {
      this.brokenFlag = true;
      this.warn(`index update failed, it will be rebuilt on restart: ${(error as Error).message}`);
    }
  }
}
