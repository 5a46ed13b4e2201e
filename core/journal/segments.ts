import { closeSync, type Dirent, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ioError, PalyraError } from '../base/index.ts';
import { crc32 } from './crc32.ts';
import { FRAME_HEADER_BYTES, MAX_FRAME_BODY_BYTES, SEGMENT_HEADER_BYTES, segmentHeaderProblem } from './frame.ts';

/** A segment file and the sequence number its first frame carries. */
export interface SegmentFile {
  path: string;
  name: string;
  firstSeq: number;
}

const SEGMENT_NAME = /^seg-(\d{20})\.log$/;

/** File name of the segment whose first event has sequence `firstSeq`. */
export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(20, '0')}.log`;
}

/** Lists segment files in sequence order; a missing folder is an empty journal. */
export function listSegments(dir: string): SegmentFile[] {
  const { segments, notFiles } = listSegmentEntries(dir);
  if (notFiles[0] !== undefined) {
    throw new PalyraError('PALYRA_JOURNAL_CORRUPT', `Journal segment "${notFiles[0]}" is not a regular file; move it out of the journal's segments folder`);
  }
  return segments;
}

/**
 * The segment files in sequence order, and the paths named like a segment that are not
 * regular files (a directory, a dangling link): `journal verify` reports those, every
 * other reader refuses them (reading one would fail with a bare EISDIR).
 */
export function listSegmentEntries(dir: string): { segments: SegmentFile[]; notFiles: string[] } {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { segments: [], notFiles: [] };
    throw ioError(`list journal segments in "${dir}"`, error);
  }
  const segments: SegmentFile[] = [];
  const notFiles: string[] = [];
  for (const entry of entries) {
    const m = SEGMENT_NAME.exec(entry.name);
    if (!m) continue;
    const path = join(dir, entry.name);
    if (entry.isFile() || isFileBehindLink(path)) segments.push({ path, name: entry.name, firstSeq: Number(m[1]) });
    else notFiles.push(path);
  }
  return { segments: segments.sort((a, b) => a.firstSeq - b.firstSeq), notFiles: notFiles.sort() };
}

/** A symlink to a regular file reads as one; anything else named like a segment is not a segment. */
function isFileBehindLink(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** What a scan found at one position of a segment. */
export type ScanItem =
  | { type: 'frame'; offset: number; end: number; body: Uint8Array }
  /** The rest of the file is an incomplete or checksum-failing last frame (zeros may follow it): a write cut by a crash. */
  | { type: 'torn'; offset: number; reason: string }
  /** A frame in the middle of the file is damaged; nothing after it can be trusted to be framed. */
  | { type: 'corrupt'; offset: number; code: 'FRAME_LENGTH' | 'FRAME_CHECKSUM' | 'SEGMENT_HEADER'; reason: string };

const READ_CHUNK = 4 * 1024 * 1024;

/**
 * Reads a segment's frames in order with large sequential reads. Stops at the first
 * torn or corrupt item, and quietly where only zeros are left (space the writer
 * preallocated, see SegmentLog; zeros followed by anything else are corruption). `endOffset` bounds the scan (a reader following a live writer
 * passes the size it saw, so frames appended later are left for the next scan).
 */
export function* scanSegment(path: string, options: { fromOffset?: number; endOffset?: number } = {}): Generator<ScanItem> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw ioError(`open journal segment "${path}"`, error);
  }
  try {
    const size = options.endOffset ?? fstatSync(fd).size;
    let offset = options.fromOffset ?? SEGMENT_HEADER_BYTES;
    if (offset === SEGMENT_HEADER_BYTES) {
      const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
      const got = readSync(fd, header, 0, SEGMENT_HEADER_BYTES, 0);
      const problem = segmentHeaderProblem(header.subarray(0, got));
      if (problem) {
        // A header cut short by a crash right after the file was created is a torn write.
        if (got < SEGMENT_HEADER_BYTES && size < SEGMENT_HEADER_BYTES) yield { type: 'torn', offset: 0, reason: problem };
        else yield { type: 'corrupt', offset: 0, code: 'SEGMENT_HEADER', reason: problem };
        return;
      }
    }
    let buf = Buffer.alloc(0);
    let bufStart = offset; // file offset of buf[0]
    const ensure = (need: number): boolean => {
      // Make buf hold at least `need` bytes from `offset`, reading forward; false at EOF.
      if (offset - bufStart + need <= buf.length) return true;
      const keepFrom = offset - bufStart;
      const want = Math.max(need, READ_CHUNK);
      const next = Buffer.allocUnsafe(Math.min(want, Math.max(0, size - offset)));
      const already = buf.length - keepFrom;
      buf.copy(next, 0, keepFrom);
      let filled = already;
      while (filled < next.length) {
        const n = readSync(fd, next, filled, next.length - filled, offset + filled);
        if (n === 0) break;
        filled += n;
      }
      buf = next.subarray(0, filled);
      bufStart = offset;
      return buf.length >= need;
    };
    while (offset < size) {
      if (!ensure(FRAME_HEADER_BYTES)) {
        // Fewer than a header's bytes, all zero: the end of zeroed space, not a frame.
        if (buf.subarray(offset - bufStart).every((b) => b === 0)) return;
        yield { type: 'torn', offset, reason: 'frame header cut short' };
        return;
      }
      const at = offset - bufStart;
      const length = buf.readUInt32BE(at);
      const checksum = buf.readUInt32BE(at + 4);
      if (length === 0 || length > MAX_FRAME_BODY_BYTES) {
        if (length === 0 && checksum === 0 && isZeroTail(fd, offset, size)) return; // the end of the log
        if (settledSince(fd, offset, size)) {
          buf = Buffer.alloc(0); // read the settled bytes afresh
          bufStart = offset;
          continue;
        }
        yield { type: 'corrupt', offset, code: 'FRAME_LENGTH', reason: `frame length ${length} is impossible` };
        return;
      }
      const end = offset + FRAME_HEADER_BYTES + length;
      if (end > size) {
        yield { type: 'torn', offset, reason: 'frame body cut short' };
        return;
      }
      ensure(FRAME_HEADER_BYTES + length);
      const bodyAt = offset - bufStart + FRAME_HEADER_BYTES;
      const body = buf.subarray(bodyAt, bodyAt + length);
      if (crc32(body) !== checksum) {
        if (end === size || isZeroTail(fd, end, size)) {
          yield { type: 'torn', offset, reason: 'last frame fails its checksum' };
        } else if (settledSince(fd, offset, size)) {
          buf = Buffer.alloc(0); // read the settled bytes afresh
          bufStart = offset;
          continue;
        } else {
          yield { type: 'corrupt', offset, code: 'FRAME_CHECKSUM', reason: 'frame fails its checksum' };
        }
        return;
      }
      yield { type: 'frame', offset, end, body };
      offset = end;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a whole frame now stands at `at`. A scan beside a live writer can read zeros (or
 * half a frame) at `at` and, further on, bytes the writer put there a moment later, which
 * looks like damage; reading the frame afresh tells the two apart. A few tries a
 * millisecond apart, since the writer's copy may still be under way.
 */
function settledSince(fd: number, at: number, size: number): boolean {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) {
      const until = performance.now() + 1;
      while (performance.now() < until);
    }
    if (readSync(fd, header, 0, FRAME_HEADER_BYTES, at) < FRAME_HEADER_BYTES) continue;
    const length = header.readUInt32BE(0);
    if (length === 0 || length > MAX_FRAME_BODY_BYTES || at + FRAME_HEADER_BYTES + length > size) continue;
    const body = Buffer.allocUnsafe(length);
    if (readSync(fd, body, 0, length, at + FRAME_HEADER_BYTES) === length && crc32(body) === header.readUInt32BE(4)) return true;
  }
  return false;
}

function isZeroTail(fd: number, from: number, size: number): boolean {
  const chunk = Buffer.alloc(64 * 1024);
  for (let pos = from; pos < size; pos += chunk.length) {
    const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - pos), pos);
    for (let i = 0; i < n; i++) if (chunk[i] !== 0) return false;
    if (n === 0) break;
  }
  return true;
}

/**
 * Bytes the search for a whole frame may checksum, beyond a few times the bytes it
 * searches. A torn write leaves record bytes after the cut, where a length that fits and
 * a map's first byte rarely meet; bytes crafted so that every other offset looks like a
 * frame of megabytes would otherwise cost a checksum of megabytes per offset (hours for
 * a few MiB).
 */
const SEARCH_CRC_ALLOWANCE = MAX_FRAME_BODY_BYTES;
const SEARCH_CRC_PER_BYTE = 4;
/** Bytes searched per read; frame bodies crossing its end are read on their own. */
const SEARCH_WINDOW = 4 * 1024 * 1024;

/** What the search for a whole frame after a stop found. */
export type WholeFrameSearch =
  | { type: 'found'; offset: number }
  | { type: 'none' }
  /** The bytes hold too many frame-like positions to check them all: no write a crash cut looks like that. */
  | { type: 'gave-up'; offset: number };

/**
 * The first whole frame (plausible length, matching checksum) that starts after `from` in
 * the segment at `path`. A torn write leaves nothing whole after the cut; a frame header
 * damaged in the middle of a segment (its length now pointing past the end) leaves the
 * frames after it intact, and this tells the two apart for `journal verify`. It reads the
 * rest of the segment in windows (memory stays bounded, however large the file); only
 * positions that look like a frame (a length that fits, a body starting as a map) are
 * checksummed, and only up to a budget in proportion to the bytes searched.
 */
export function searchWholeFrameAfter(path: string, from: number): WholeFrameSearch {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    let budget = SEARCH_CRC_ALLOWANCE + SEARCH_CRC_PER_BYTE * Math.max(0, size - from);
    const window = Buffer.allocUnsafe(SEARCH_WINDOW + FRAME_HEADER_BYTES + 1);
    for (let start = from + 1; start + FRAME_HEADER_BYTES < size; start += SEARCH_WINDOW) {
      // Each window also holds the header and first body byte of a frame starting at its last offset.
      const got = readFully(fd, window, Math.min(window.length, size - start), start);
      const last = Math.min(start + SEARCH_WINDOW - 1, size - FRAME_HEADER_BYTES - 1);
      for (let at = start; at <= last && at - start + FRAME_HEADER_BYTES < got; at++) {
        const i = at - start;
        // Every record is a MessagePack map; palyrad writes a fixmap, other encoders may not.
        // Tested first: it rules out most offsets at the cost of one byte read.
        const first = window[i + FRAME_HEADER_BYTES] as number;
        if ((first & 0xf0) !== 0x80 && first !== 0xde && first !== 0xdf) continue;
        const length = window.readUInt32BE(i);
        if (length === 0 || length > MAX_FRAME_BODY_BYTES || at + FRAME_HEADER_BYTES + length > size) continue;
        budget -= length;
        if (budget < 0) return { type: 'gave-up', offset: at };
        const inWindow = i + FRAME_HEADER_BYTES + length <= got;
        const body = inWindow ? window.subarray(i + FRAME_HEADER_BYTES, i + FRAME_HEADER_BYTES + length) : Buffer.allocUnsafe(length);
        if (!inWindow && readFully(fd, body, length, at + FRAME_HEADER_BYTES) < length) continue;
        if (crc32(body) === window.readUInt32BE(i + 4)) return { type: 'found', offset: at };
      }
    }
    return { type: 'none' };
  } catch (error) {
    throw ioError(`read journal segment "${path}"`, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads up to `length` bytes at `position` into the start of `into`; returns how many it got. */
function readFully(fd: number, into: Buffer, length: number, position: number): number {
  let filled = 0;
  while (filled < length) {
    const n = readSync(fd, into, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/** How a scan's torn or corrupt item reads once the bytes around it are looked at. */
export type TailVerdict =
  /** A write a crash cut short (the disk may have kept its pages out of order): cutting it loses no acknowledged event. */
  | { torn: true; reason: string }
  /** Damage to bytes that were once whole: the events in and after them were written, maybe acknowledged. */
  | { torn: false; code: 'FRAME_LENGTH' | 'FRAME_CHECKSUM' | 'SEGMENT_HEADER'; reason: string; resumesAt: number | null };

/**
 * A run of zero bytes this long inside a frame is a page the disk never wrote: a record's
 * MessagePack holds zero bytes only in small integers, and its JSON text none at all.
 */
const UNWRITTEN_RUN = 64;

/**
 * Tells a write a crash cut short from damage, for the item a scan stopped at. A crash in
 * the middle of one `pwrite` leaves each page of the batch either written or not (zeros:
 * preallocated space, or a hole the file grew over), in any order; so zeros where a frame
 * header should be, or a long run of zeros inside a failing frame, mean an unfinished write,
 * whatever whole frames of the same batch made it to disk after it (none of them was
 * acknowledged). Other bytes that fail their length or checksum, with whole frames after
 * them, were written whole once: damage. A frame cut off by the end of the file, with
 * nothing whole after it, is a torn write.
 */
export function classifyStop(path: string, item: Extract<ScanItem, { type: 'torn' | 'corrupt' }>): TailVerdict {
  if (item.type === 'corrupt' && item.code === 'SEGMENT_HEADER') return { torn: false, code: item.code, reason: item.reason, resumesAt: null };
  if (looksUnwritten(path, item.offset)) {
    return { torn: true, reason: item.type === 'torn' ? item.reason : `${item.reason}, zeros of a write that did not reach the disk whole` };
  }
  const search = searchWholeFrameAfter(path, item.offset);
  if (item.type === 'torn' && search.type === 'none') return { torn: true, reason: item.reason };
  const code = item.type === 'corrupt' ? item.code : 'FRAME_LENGTH';
  if (search.type === 'gave-up') {
    return { torn: false, code, reason: `${item.reason}, and frame-like bytes follow from byte ${search.offset} in numbers no crash leaves`, resumesAt: null };
  }
  return { torn: false, code, reason: item.reason, resumesAt: search.type === 'found' ? search.offset : null };
}

/** Whether the frame at `offset` shows a page never written: a zeroed header, or a long zero run in its body. */
function looksUnwritten(path: string, offset: number): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    const got = readSync(fd, header, 0, FRAME_HEADER_BYTES, offset);
    if (got < FRAME_HEADER_BYTES) return false;
    if (header.readUInt32BE(0) === 0 && header.readUInt32BE(4) === 0) return true;
    const length = header.readUInt32BE(0);
    if (length > MAX_FRAME_BODY_BYTES) return false;
    const body = Buffer.alloc(Math.min(length, Math.max(0, size - offset - FRAME_HEADER_BYTES)));
    const read = readSync(fd, body, 0, body.length, offset + FRAME_HEADER_BYTES);
    let run = 0;
    for (let i = 0; i < read; i++) {
      run = body[i] === 0 ? run + 1 : 0;
      if (run >= UNWRITTEN_RUN) return true;
    }
    return false;
  } catch (error) {
    throw ioError(`read journal segment "${path}"`, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
