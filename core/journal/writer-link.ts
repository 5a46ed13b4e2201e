import { Worker } from 'node:worker_threads';
import { PalyraError } from '../base/index.ts';
import { ChainWriter } from './chain-writer.ts';
import type { SegmentLog } from './segment-log.ts';
import { writerWorkerSource } from './writer-worker-source.ts';
import { packRecord, type PackedRecords, type UnsealedRecord, type WriterReply, type WriterRequest, type WriterStart } from './writer-protocol.ts';

/** How the store reaches its chain writer, wherever that runs. Replies arrive through the callback given at creation. */
export interface WriterLink {
  /**
   * Hands one numbered event to the writer. `writeNow`: ask for the write at once, not at
   * the end of this turn of the event loop (its write then overlaps the rest of the turn).
   */
  send(epoch: number, record: UnsealedRecord, writeNow?: boolean): void;
  /** Keeps the process alive while events are outstanding (a writer thread alone does not). */
  hold(busy: boolean): void;
  /** Waits for queued writes and stops the writer; `abandon`: see SegmentLog.close. */
  close(abandon?: boolean): Promise<void>;
}

/** The writer on the store's own thread: one core does everything (offline commands, tests). */
export function inlineWriter(log: SegmentLog, head: { seq: number; hash: string }, onReply: (message: WriterReply) => void): WriterLink & { readonly log: SegmentLog } {
  const writer = new ChainWriter(log, head, onReply);
  const one: UnsealedRecord[] = [];
  return {
    log,
    send(epoch, record) {
      one[0] = record;
      writer.append(epoch, one);
    },
    hold() {},
    close: (abandon) => writer.close(abandon),
  };
}

/**
 * Events prepared in one go (one turn of the event loop) are written together. They are
 * posted in parts of this many, so the writer chains and frames the first parts while
 * the rest are being prepared; the last part asks for the write. Measured here, writing
 * each part as it arrives was slower: a write that overlaps busy CPUs on this VM takes
 * several times as long.
 */
const POST_PART = 16;

/**
 * The writer on a thread of its own, so hashing, framing and writing use the second core
 * while this thread validates, redacts and serializes. Resolves once the writer has opened
 * the log; rejects with the writer's error if it cannot.
 */
export function threadWriter(
  start: WriterStart,
  onReply: (message: WriterReply) => void,
  /** Called right after a write was asked for: this thread's own chores then overlap the disk's work. */
  onWriteAsked: () => void = () => undefined,
): Promise<WriterLink> {
  const source = writerWorkerSource();
  const worker = 'code' in source ? new Worker(source.code, { eval: true, workerData: start }) : new Worker(source.url, { workerData: start });
  let outbox: PackedRecords = [];
  /** Records in the outbox. */
  let outboxCount = 0;
  let outboxEpoch = 0;
  let flushScheduled = false;
  let stopped = false;
  let closing: Promise<void> | null = null;
  let closed: (() => void) | null = null;
  /** Events were posted since the last write request. */
  let unwritten = false;
  const post = (flush: boolean): void => {
    const request: WriterRequest = { type: 'append', epoch: outboxEpoch, records: outbox, flush };
    outbox = [];
    outboxCount = 0;
    unwritten = !flush;
    worker.postMessage(request);
  };
  const askForWrite = (): void => {
    post(true);
    onWriteAsked();
  };
  const flushAtEndOfTurn = (): void => {
    flushScheduled = false;
    if (unwritten || outboxCount > 0) askForWrite();
  };
  const link: WriterLink = {
    send(epoch, record, writeNow) {
      if (epoch !== outboxEpoch && outboxCount > 0) post(false);
      outboxEpoch = epoch;
      packRecord(outbox, record);
      outboxCount++;
      if (writeNow) {
        askForWrite();
      } else if (!flushScheduled) {
        // The first event of a turn goes at once: a sleeping writer thread wakes (slow on
        // a VM) while this thread works on, and then polls for the write request.
        post(false);
        flushScheduled = true;
        setImmediate(flushAtEndOfTurn);
      } else if (outboxCount >= POST_PART) {
        post(false);
      }
    },
    hold(busy) {
      if (busy) worker.ref();
      else worker.unref();
    },
    close(abandon) {
      closing ??= new Promise<void>((resolve) => {
        if (stopped) return resolve();
        if (outboxCount > 0) post(true);
        worker.ref();
        worker.once('exit', () => resolve());
        closed = () => void worker.terminate();
        worker.postMessage({ type: 'close', abandon: abandon === true } satisfies WriterRequest);
      });
      return closing;
    },
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    worker.on('message', (message: WriterReply) => {
      if (!ready) {
        if (message.type === 'ready') {
          ready = true;
          worker.unref();
          resolve(link);
        } else if (message.type === 'failed') {
          stopped = true;
          void worker.terminate();
          reject(new PalyraError(message.code as 'PALYRA_JOURNAL_WRITE_FAILED', message.message));
        }
        return;
      }
      if (message.type === 'closed') closed?.();
      else onReply(message);
    });
    worker.on('error', (error) => {
      stopped = true;
      const failure = `The journal writer thread stopped: ${error.message}; restart to recover`;
      if (!ready) reject(new PalyraError('PALYRA_JOURNAL_WRITE_FAILED', failure));
      else onReply({ type: 'failed', code: 'PALYRA_JOURNAL_WRITE_FAILED', message: failure, fatal: true });
    });
    worker.on('exit', () => {
      const unexpected = !stopped && !closing;
      stopped = true;
      if (!ready) reject(new PalyraError('PALYRA_JOURNAL_WRITE_FAILED', 'The journal writer thread exited before it opened the log'));
      else if (unexpected) onReply({ type: 'failed', code: 'PALYRA_JOURNAL_WRITE_FAILED', message: 'The journal writer thread exited; restart to recover', fatal: true });
    });
  });
}
