import { crc32 } from './crc32.ts';
import { JOURNAL_FORMAT_VERSION, type StoredRecord } from './record.ts';
import { decodeRecordBody, encodeRecordInto } from './record-codec.ts';

/**
 * Segment files start with a 16-byte header: the magic `PALYRAJL`, the format version
 * (u32 BE) and 4 reserved zero bytes. Frames follow back to back:
 *
 *   u32 BE body length | u32 BE CRC-32 of body | body (msgpack map of a StoredRecord)
 */
export const SEGMENT_MAGIC = Buffer.from('PALYRAJL', 'ascii');
export const SEGMENT_HEADER_BYTES = 16;
export const FRAME_HEADER_BYTES = 8;
/** No frame body may exceed this; a larger length field means corruption, not data. */
export const MAX_FRAME_BODY_BYTES = 64 * 1024 * 1024;


/** The header every new segment file starts with. */
export function segmentHeader(): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt32BE(JOURNAL_FORMAT_VERSION, 8);
  return header;
}

/** Why a segment header is unacceptable, or null when it is fine. */
export function segmentHeaderProblem(header: Uint8Array): string | null {
  if (header.length < SEGMENT_HEADER_BYTES) return 'segment is shorter than its header';
  if (!Buffer.from(header.buffer, header.byteOffset, 8).equals(SEGMENT_MAGIC)) return 'segment does not start with PALYRAJL';
  const version = Buffer.from(header.buffer, header.byteOffset, SEGMENT_HEADER_BYTES).readUInt32BE(8);
  if (version !== JOURNAL_FORMAT_VERSION) return `segment format version ${version} is not supported`;
  // Reserved: zero in version 1. A byte set here is damage (or a later format this reader does not know).
  if (Buffer.from(header.buffer, header.byteOffset, SEGMENT_HEADER_BYTES).readUInt32BE(12) !== 0) return 'segment header has non-zero reserved bytes (12-15)';
  return null;
}

/** Encodes one record as a complete frame (header and body). */
export function encodeFrame(record: StoredRecord): Buffer {
  const { buffer, bodyLength } = encodeRecordInto(record, FRAME_HEADER_BYTES);
  buffer.writeUInt32BE(bodyLength, 0);
  buffer.writeUInt32BE(crc32(buffer.subarray(FRAME_HEADER_BYTES)), 4);
  return buffer;
}

/** Decodes a frame body (already checksum-verified); throws on malformed msgpack. */
export function decodeFrameBody(body: Uint8Array): unknown {
  return decodeRecordBody(body);
}
