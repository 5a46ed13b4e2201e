import type { IndexEntry, JournalIndex } from './index-db.ts';
import { readRecords } from './log-reader.ts';
import { hashAtSeq } from './recover.ts';

const BATCH = 5_000;

/**
 * Brings the index up to date with the log: replays the frames after the snapshot when
 * the snapshot still matches the log, otherwise rebuilds it from the newest `retention`
 * events. Returns how it was brought up to date.
 */
export function syncIndex(
  index: JournalIndex,
  segmentsDir: string,
  head: { seq: number; hash: string },
  retention: number,
  /** The caller already checked that the log holds the index's newest event (skips reading it again). */
  lastEventChecked = false,
): 'current' | 'replayed' | 'rebuilt' {
  if (index.lastSeq === head.seq && index.lastHash === (head.seq === 0 ? null : head.hash)) return 'current';
  let fromSeq: number;
  let mode: 'replayed' | 'rebuilt';
  if (index.lastSeq > 0 && index.lastSeq < head.seq && head.seq - index.lastSeq <= retention && (lastEventChecked || hashAtSeq(segmentsDir, index.lastSeq) === index.lastHash)) {
    fromSeq = index.lastSeq + 1;
    mode = 'replayed';
  } else {
    index.reset();
    fromSeq = Math.max(1, head.seq - retention + 1);
    mode = 'rebuilt';
  }
  let batch: IndexEntry[] = [];
  for (const { record: r, segment, offset } of readRecords(segmentsDir, { fromSeq })) {
    if (r.seq > head.seq) break;
    batch.push({ seq: r.seq, ts: r.ts, kind: r.kind, sessionId: r.sessionId, runId: r.runId, segment: segment.firstSeq, offset, hash: r.hash });
    if (batch.length >= BATCH) {
      index.apply(batch);
      batch = [];
    }
  }
  index.apply(batch);
  return mode;
}
