import type { StoredRecord } from './record.ts';

/**
 * Messages between the journal store (on the caller's thread) and its chain writer
 * (inline, or on a writer thread). The store validates, redacts, serializes and numbers
 * events; the writer chains, hashes, frames and writes them, and reports each durable
 * batch. Only plain data crosses, so the same messages serve both placements.
 */

/** An event the store has numbered but not chained: the writer fills `prevHash` and `hash`. */
export type UnsealedRecord = Omit<StoredRecord, 'prevHash' | 'hash'>;

/**
 * Records cross to the writer thread as one flat array of their fields, in this order,
 * rather than as objects: structured cloning then writes no property names. Measured
 * with 16 records of the benchmark's shape: 1.0–1.4 → 0.5–0.7 µs per record to
 * serialize (the store's thread), 1.35 → 0.85 µs to deserialize (the writer's).
 */
const PACKED_FIELDS = 12;
export type PackedRecords = (string | number | null)[];

/** Appends `record`'s fields to `packed` (see PACKED_FIELDS). */
export function packRecord(packed: PackedRecords, r: UnsealedRecord): void {
  packed.push(r.v, r.seq, r.id, r.ts, r.kind, r.sessionId, r.runId, r.actor, r.principal, r.channel, r.payloadJson, r.redactions);
}

/** The records `packRecord` packed, as objects of one shape. */
export function unpackRecords(packed: PackedRecords): UnsealedRecord[] {
  if (packed.length % PACKED_FIELDS !== 0) throw new Error(`packed records hold ${packed.length} fields, not a multiple of ${PACKED_FIELDS}`);
  const records: UnsealedRecord[] = new Array(packed.length / PACKED_FIELDS);
  for (let i = 0, p = 0; p < packed.length; i++, p += PACKED_FIELDS) {
    records[i] = {
      v: packed[p] as number,
      seq: packed[p + 1] as number,
      id: packed[p + 2] as string,
      ts: packed[p + 3] as number,
      kind: packed[p + 4] as string,
      sessionId: packed[p + 5] as string | null,
      runId: packed[p + 6] as string | null,
      actor: packed[p + 7] as string,
      principal: packed[p + 8] as string | null,
      channel: packed[p + 9] as string | null,
      payloadJson: packed[p + 10] as string,
      redactions: packed[p + 11] as number,
    };
  }
  return records;
}

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
  | { type: 'append'; epoch: number; records: PackedRecords; flush: boolean }
  /** `abandon`: the store lost its lock; close without touching the file (see SegmentLog.close). */
  | { type: 'close'; abandon?: boolean };

/** Writer → store. */
export type WriterReply =
  | { type: 'ready' }
  /** Events firstSeq.. are durable; `hashes` is their hashes concatenated (64 hex digits each); the write took `writeMicros`. */
  | { type: 'written'; firstSeq: number; hashes: string; frameBytes: number[]; segmentFirstSeq: number; offset: number; writeMicros: number }
  /** A write failed; everything not yet written is dropped. `fatal`: the log must not be used again. */
  | { type: 'failed'; code: string; message: string; fatal: boolean }
  | { type: 'closed' };
