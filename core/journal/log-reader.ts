import { PalyraError } from '../base/index.ts';
import { decodeFrameBody } from './frame.ts';
import { recordShapeProblem, type StoredRecord } from './record.ts';
import { listSegments, scanSegment, type SegmentFile } from './segments.ts';

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
    const segment = segments[i] as SegmentFile;
    const isLast = i === segments.length - 1;
    for (const item of scanSegment(segment.path)) {
      if (item.type === 'torn') {
        if (isLast) return;
        throw corrupt(segment, item.offset, `a frame is cut short (${item.reason}) in a segment that is not the last`);
      }
      if (item.type === 'corrupt') throw corrupt(segment, item.offset, item.reason);
      const record = decodeRecord(item.body, segment, item.offset);
      if (record.seq >= fromSeq) yield { record, segment, offset: item.offset, end: item.end };
    }
  }
}

/** Decodes and shape-checks a frame body; throws PALYRA_JOURNAL_CORRUPT naming the place. */
export function decodeRecord(body: Uint8Array, segment: SegmentFile, offset: number): StoredRecord {
  let value: unknown;
  try {
    value = decodeFrameBody(body);
  } catch (error) {
    throw corrupt(segment, offset, `frame body is not msgpack (${(error as Error).message})`);
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
