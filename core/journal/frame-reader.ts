import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ioError, PalyraError } from '../base/index.ts';
import { crc32 } from './crc32.ts';
import { FRAME_HEADER_BYTES, MAX_FRAME_BODY_BYTES } from './frame.ts';
import { decodeRecord } from './log-reader.ts';
import type { StoredRecord } from './record.ts';
import { segmentName } from './segments.ts';

/** Where a frame lives: the segment (named by its first seq) and the byte offset. */
export interface FramePointer {
  segment: number;
  offset: number;
}

/**
 * Reads one frame by its position (as the index records it), checking its checksum and,
 * when the pointer names one, that the frame holds that seq (a damaged index must not
 * serve one event for another). Random access for readers that found an event through the index.
 */
export function readFrameAt(segmentsDir: string, pointer: FramePointer & { seq?: number }): StoredRecord {
  const name = segmentName(pointer.segment);
  const path = join(segmentsDir, name);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw ioError(`open journal segment "${path}"`, error);
  }
  try {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    const got = readSync(fd, header, 0, FRAME_HEADER_BYTES, pointer.offset);
    const length = header.readUInt32BE(0);
    if (got !== FRAME_HEADER_BYTES || length === 0 || length > MAX_FRAME_BODY_BYTES) throw damaged(name, pointer.offset, 'no frame header here');
    const body = Buffer.alloc(length);
    if (readSync(fd, body, 0, length, pointer.offset + FRAME_HEADER_BYTES) !== length) throw damaged(name, pointer.offset, 'frame cut short');
    if (crc32(body) !== header.readUInt32BE(4)) throw damaged(name, pointer.offset, 'frame fails its checksum');
    const record = decodeRecord(body, { path, name, firstSeq: pointer.segment }, pointer.offset);
    if (pointer.seq !== undefined && record.seq !== pointer.seq) {
      throw new PalyraError(
        'PALYRA_JOURNAL_CORRUPT',
        `The journal index points at event ${record.seq} for event ${pointer.seq} (segment "${name}", byte ${pointer.offset}): the index is damaged; stop the daemon and run 'palyrad journal reindex'`,
      );
    }
    return record;
  } finally {
    closeSync(fd);
  }
}

function damaged(segment: string, offset: number, reason: string): PalyraError {
  return new PalyraError('PALYRA_JOURNAL_CORRUPT', `Journal segment "${segment}" is damaged at byte ${offset}: ${reason}; run 'palyrad journal verify'`);
}
