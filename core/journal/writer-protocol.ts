import type { StoredRecord } from './record.ts';

/**
 * Messages between the journal store (on the caller's thread) and its chain writer
 * (inline, or on a writer thread). The store validates, redacts, serializes and numbers
 * events; the writer chains, hashes, frames and writes them, and reports each durable
 * batch. Only plain data crosses, so the same messages serve both placements.
 */

/** An event the store has numbered but not chained: the writer fills `prevHash` and `hash`. */
export type UnsealedRecord = Omit<StoredRecord, 'prevHash' | 'hash'>;

/** Where the chain and the log stand when a writer starts. */
export interface WriterStart {
  segmentsDir: string;
  maxSegmentBytes: number;
  position: { segmentPath: string; segmentFirstSeq: number; size: number };
  head: { seq: number; hash: string };
  /** Keep zeroed space ahead of the end of the log (see SegmentLog). */
  preallocate: boolean;
}

/**
 * Store → writer. `epoch` counts write failures the store has seen: after a failure the
 * writer drops events of older epochs (the store has already rejected them, as they
 * chained onto the failed ones) and restarts the chain at its durable head.
 */
export type WriterRequest =
  /** `flush`: the last part of what the store prepared in one go; write what is queued now. */
  | { type: 'append'; epoch: number; records: UnsealedRecord[]; flush: boolean }
  | { type: 'close' };

/** Writer → store. */
export type WriterReply =
  | { type: 'ready' }
  /** Events firstSeq.. are durable; `hashes` is their hashes concatenated (64 hex digits each); the write took `writeMicros`. */
  | { type: 'written'; firstSeq: number; hashes: string; frameBytes: number[]; segmentFirstSeq: number; offset: number; writeMicros: number }
  /** A write failed; everything not yet written is dropped. `fatal`: the log must not be used again. */
  | { type: 'failed'; code: string; message: string; fatal: boolean }
  | { type: 'closed' };
