import { readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from '../../core/journal/crc32.ts';
import { decodeFrameBody, encodeFrame, SEGMENT_HEADER_BYTES } from '../../core/journal/frame.ts';
import type { StoredRecord } from '../../core/journal/record.ts';
import { scanSegment } from '../../core/journal/segments.ts';

/**
 * Tools an attacker with write access to the files would use, for tamper tests.
 * Each frame is kept as the exact bytes on disk so edits are byte-precise.
 */
export interface Frame {
  offset: number;
  bytes: Buffer;
  record: StoredRecord;
}

/** Reads every frame of one segment. */
export function readFrames(segmentPath: string): Frame[] {
  const file = readFileSync(segmentPath);
  const frames: Frame[] = [];
  for (const item of scanSegment(segmentPath)) {
    if (item.type !== 'frame') throw new Error(`unexpected ${item.type} in ${segmentPath}`);
    frames.push({ offset: item.offset, bytes: file.subarray(item.offset, item.end), record: decodeFrameBody(item.body) as StoredRecord });
  }
  return frames;
}

/** Rewrites a segment from frames (raw bytes as given). */
export function writeFrames(segmentPath: string, frames: readonly Buffer[]): void {
  const header = readFileSync(segmentPath).subarray(0, SEGMENT_HEADER_BYTES);
  writeFileSync(segmentPath, Buffer.concat([header, ...frames]));
}

/** A frame re-encoded from a record, with a valid checksum (what a careful forger writes). */
export function reencode(record: StoredRecord): Buffer {
  return encodeFrame(record);
}

/** A frame around a body built by hand (any bytes), its length and CRC correct. */
export function frameAround(body: Buffer): Buffer {
  const frame = Buffer.alloc(8 + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.writeUInt32BE(crc32(body), 4);
  body.copy(frame, 8);
  return frame;
}
