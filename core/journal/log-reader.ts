import { PalyraError } from '../base/index.ts';
import { decodeFrameBody } from './frame.ts';
import { BodyNotARecordError } from './record-codec.ts';
import { recordShapeProblem, type StoredRecord } from './record.ts';
import { listSegments, scanSegment, type SegmentFile } from './segments.ts';
import { untrustedProse } from './untrusted-text.ts';

/** A record read from the log, with where it lives. */
export interface LocatedRecord {
  record: StoredRecord;
  segment: SegmentFile;
  offset: number;
  end: number;
}

/**
 * Streams records in sequence order starting at `fromSeq` (default 1). A torn last frame
 * (a write in flight, or cut by a crash) ends the stream quietly: readers run beside a
 * live writer. Damage anywhere else throws PALYRA_JOURNAL_CORRUPT; `journal verify`
 * is the tool that reports every problem in detail.
 */
export function* readRecords(segmentsDir: string, options: { fromSeq?: number } = {}): Generator<LocatedRecord> {
  const fromSeq = options.fromSeq ?? 1;
  const segments = listSegments(segmentsDir);
  let startIndex = 0;
  for (let i = 0; i < segments.length; i++) if ((segments[i] as SegmentFile).firstSeq <= fromSeq) startIndex = i;
  for (let i = startIndex; i < segments.length; i++) {
    for (const located of segmentRecords(segments[i] as SegmentFile, i === segments.length - 1)) {
      if (located.record.seq >= fromSeq) yield located;
    }
  }
}

/**
 * The newest `count` records, oldest first. Reads segments from the newest back, only as
 * many as hold them (`journal tail` on a long log reads its end, not all of it); a newest
 * segment still empty after a roll is passed over.
 */
export function newestRecords(segmentsDir: string, count: number): StoredRecord[] {
  if (count <= 0) return [];
  const segments = listSegments(segmentsDir);
  let newest: StoredRecord[] = [];
  for (let i = segments.length - 1; i >= 0 && newest.length < count; i--) {
    const wanted = count - newest.length;
    const ring: StoredRecord[] = [];
    for (const { record } of segmentRecords(segments[i] as SegmentFile, i === segments.length - 1)) {
      ring.push(record);
      // Trim in halves, not one shift() per record: a segment can hold millions.
      if (ring.length >= 2 * wanted + 1024) ring.splice(0, ring.length - wanted);
    }
    newest = ring.slice(-wanted).concat(newest);
  }
  return newest;
}

/** The records of one segment in file order; a torn end is quiet only in the newest segment. */
function* segmentRecords(segment: SegmentFile, isLast: boolean): Generator<LocatedRecord> {
  for (const item of scanSegment(segment.path)) {
    if (item.type === 'torn') {
      if (isLast) return;
      throw corrupt(segment, item.offset, `a frame is cut short (${item.reason}) in a segment that is not the last`);
    }
    if (item.type === 'corrupt') throw corrupt(segment, item.offset, item.reason);
    yield { record: decodeRecord(item.body, segment, item.offset), segment, offset: item.offset, end: item.end };
  }
}

/** Decodes and shape-checks a frame body; throws PALYRA_JOURNAL_CORRUPT naming the place. */
export function decodeRecord(body: Uint8Array, segment: SegmentFile, offset: number): StoredRecord {
  let value: unknown;
  try {
    value = decodeFrameBody(body);
  } catch (error) {
    // The decoder's message can quote bytes of the frame: shown inert and short.
    const reason = untrustedProse((error as Error).message);
    throw corrupt(segment, offset, error instanceof BodyNotARecordError ? reason : `frame body is not msgpack (${reason})`);
  }
  const problem = recordShapeProblem(value);
  if (problem) throw corrupt(segment, offset, problem);
  return value as StoredRecord;
}

function corrupt(segment: SegmentFile, offset: number, reason: string): PalyraError {
  return new PalyraError(
    'PALYRA_JOURNAL_CORRUPT',
    `Journal segment "${segment.name}" is damaged at byte ${offset}: ${reason}; run 'palyrad journal verify' for details`,
  );
}
