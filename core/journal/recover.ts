import { closeSync, copyFileSync, constants, existsSync, fsyncSync, ftruncateSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir, fsyncFile, GENESIS_HASH, ioError, mkdirDurable, PalyraError } from '../base/index.ts';
import { SEGMENT_HEADER_BYTES } from './frame.ts';
import { readCheckpoints, type CheckpointRecord } from './checkpoints.ts';
import type { JournalPaths } from './journal-paths.ts';
import { decodeRecord, readRecords } from './log-reader.ts';
import { computeRecordHash, GENESIS_KIND, type StoredRecord } from './record.ts';
import { type LogPosition } from './segment-log.ts';
import { classifyStop, listSegments, scanSegment, type SegmentFile } from './segments.ts';

/** The state of the log found on open, and the repair (if any) a crash left to do. */
export interface RecoveryPlan {
  /** The last good record, or null for an empty journal. */
  head: StoredRecord | null;
  /** Where appending resumes; null when no segment exists yet. */
  position: LogPosition | null;
  /** A torn tail to cut off: bytes from `offset` to the end of `segment`. */
  cut: { segment: SegmentFile; offset: number; bytes: number; reason: string } | null;
  /** The hash of the record at the seq asked for, when the scan passed it (null otherwise). */
  hashAtWatched: string | null;
  /** The first seq the scan read (and re-hashed from `rehashFrom` on); null when it read none. */
  firstScannedSeq: number | null;
}

/** What the scan of the newest segment(s) looks out for besides the head. */
interface Watch {
  /** The seq whose stored hash to report (the newest checkpoint's). */
  seq: number;
  hash: string | null;
  /** Records from this seq on get their hash recomputed (see refuseAlteredTail). */
  rehashFrom: number;
  firstSeq: number | null;
}

/**
 * Scans the last segment to find the head and any torn tail, checking that every frame
 * there links to the one before it. Changes nothing; `applyCut` does the repair once the
 * caller has checked the plan against the signed checkpoints.
 */
export function planRecovery(segmentsDir: string, options: { watchSeq?: number; rehashFrom?: number } = {}): RecoveryPlan {
  const segments = listSegments(segmentsDir);
  const last = segments[segments.length - 1];
  if (!last) return { head: null, position: null, cut: null, hashAtWatched: null, firstScannedSeq: null };
  const previous = segments[segments.length - 2];
  const watch: Watch = { seq: options.watchSeq ?? -1, hash: null, rehashFrom: options.rehashFrom ?? Infinity, firstSeq: null };
  const scan = scanLast(last, true, watch);
  const headerTorn = scan.cut !== null && scan.cut.offset < SEGMENT_HEADER_BYTES;
  // The newest segment may hold no complete frame (a crash right after rolling over);
  // then the head is the last record of the segment before it.
  const previousScan = (scan.head === null || headerTorn) && previous ? scanLast(previous, false, watch) : null;
  const head = scan.head ?? previousScan?.head ?? null;
  if (scan.head === null && !headerTorn && head !== null && last.firstSeq !== head.seq + 1) {
    // A newest segment with no frame yet is normal after a crash right after a roll-over,
    // but only named for the next seq: appending into another would misnumber the log.
    throw new PalyraError(
      'PALYRA_JOURNAL_CORRUPT',
      `Journal segment "${last.name}" holds no event and is named for seq ${last.firstSeq}, but the log ends at seq ${head.seq}: a stray segment file; refusing to append; move it away and open the journal again`,
    );
  }
  if (headerTorn) {
    // applyCut removes the unusable file; appending resumes at the end of the one before.
    const position = previous && previousScan ? atEnd(previous, previousScan.goodEnd) : null;
    return { head, position, cut: scan.cut, hashAtWatched: watch.hash, firstScannedSeq: watch.firstSeq };
  }
  return { head, position: atEnd(last, scan.goodEnd), cut: scan.cut, hashAtWatched: watch.hash, firstScannedSeq: watch.firstSeq };
}

/**
 * The most events after the newest checkpoint whose hashes a writer recomputes on open
 * (a journal whose checkpoints keep failing can run far past its last one).
 */
const MAX_TAIL_REHASH = 100_000;

/**
 * Where a writer starts recomputing hashes on open: the newest checkpoint's event (which
 * it signed), so a log whose content from there to the head no longer matches its hashes
 * is refused instead of chained onto and signed again. Older events are the checkpoints'
 * and `journal verify`'s to vouch for (re-hashing a whole journal on every open would take
 * seconds).
 */
export function rehashFrom(checkpoint: CheckpointRecord | null, headSeq: number): number {
  return Math.max(checkpoint?.size ?? 1, headSeq - MAX_TAIL_REHASH, 1);
}

/**
 * Re-hashes the events from `from` that the recovery scan did not read (those before the
 * newest segment, when the checkpoint is older than it); the scan re-hashed the rest.
 */
export function refuseAlteredTail(segmentsDir: string, from: number, plan: RecoveryPlan): void {
  const head = plan.head;
  if (!head) return;
  const until = plan.firstScannedSeq ?? head.seq + 1;
  if (from >= until) return;
  for (const { record } of readRecords(segmentsDir, { fromSeq: from })) {
    if (record.seq >= until) break;
    if (computeRecordHash(record) !== record.hash) throw alteredEvent(record.seq);
  }
}

function alteredEvent(seq: number): PalyraError {
  return new PalyraError(
    'PALYRA_JOURNAL_CORRUPT',
    `Journal event ${seq} does not match its hash: its content was changed after it was written; refusing to append; run 'palyrad journal verify'`,
  );
}

/** The hash of the record at `seq`, read from the log (null when it holds no such record). */
export function hashAtSeq(segmentsDir: string, seq: number): string | null {
  for (const { record } of readRecords(segmentsDir, { fromSeq: seq })) return record.seq === seq ? record.hash : null;
  return null;
}

const atEnd = (segment: SegmentFile, size: number): LogPosition => ({
  segmentPath: segment.path,
  segmentFirstSeq: segment.firstSeq,
  size,
});

function scanLast(segment: SegmentFile, isLast: boolean, watch: Watch): { head: StoredRecord | null; goodEnd: number; cut: RecoveryPlan['cut'] } {
  let head: StoredRecord | null = null;
  let goodEnd = SEGMENT_HEADER_BYTES;
  for (const item of scanSegment(segment.path)) {
    if (item.type === 'corrupt' || item.type === 'torn') {
      const verdict = classifyStop(segment.path, item);
      if (!verdict.torn) {
        const resumes = verdict.resumesAt === null ? '' : `; whole frames follow from byte ${verdict.resumesAt}`;
        // Truncating at byte 0 would give up the whole segment for 16 damaged header bytes: say what to restore instead.
        const remedy =
          verdict.code === 'SEGMENT_HEADER'
            ? `the first 16 bytes must be "PALYRAJL", then 00 00 00 01 and four zero bytes (docs/journal-format.md); restore them from a copy`
            : `to give them up and go on, keep a copy of the segment and truncate it to ${item.offset} bytes`;
        throw new PalyraError(
          'PALYRA_JOURNAL_CORRUPT',
          `Journal segment "${segment.name}" is damaged at byte ${item.offset} (${verdict.reason}${resumes}): nothing was changed, since cutting it would drop events that were written after it; ` +
            `'palyrad journal verify' shows what the log holds; ${remedy}`,
        );
      }
      if (!isLast) {
        throw new PalyraError('PALYRA_JOURNAL_CORRUPT', `Journal segment "${segment.name}" ends in a cut frame but is not the newest segment`);
      }
      const size = statSync(segment.path).size;
      return { head, goodEnd: Math.max(item.offset, SEGMENT_HEADER_BYTES), cut: { segment, offset: item.offset, bytes: size - item.offset, reason: verdict.reason } };
    }
    const record = decodeRecord(item.body, segment, item.offset);
    const expectedSeq = head ? head.seq + 1 : segment.firstSeq;
    if (record.seq !== expectedSeq || (head && record.prevHash !== head.hash) || (!head && segment.firstSeq === 1 && record.prevHash !== GENESIS_HASH)) {
      throw new PalyraError(
        'PALYRA_JOURNAL_CHAIN_BROKEN',
        `Journal segment "${segment.name}" breaks the chain at seq ${record.seq}: refusing to append; run 'palyrad journal verify'`,
      );
    }
    if (record.seq === watch.seq) watch.hash = record.hash;
    if (watch.firstSeq === null || record.seq < watch.firstSeq) watch.firstSeq = record.seq;
    if (record.seq >= watch.rehashFrom && computeRecordHash(record) !== record.hash) throw alteredEvent(record.seq);
    head = record;
    goodEnd = item.end;
  }
  return { head, goodEnd, cut: null };
}

/**
 * Cuts a torn tail off, first copying the cut bytes to `quarantineDir` so nothing is
 * destroyed. Returns the quarantine file's path.
 */
export function applyCut(cut: NonNullable<RecoveryPlan['cut']>, quarantineDir: string): string {
  try {
    mkdirDurable(quarantineDir);
    // A second crash can tear the same place again: never overwrite what was kept before.
    const target = unusedPath(join(quarantineDir, `${cut.segment.name}.${cut.offset}`), '.torn');
    if (cut.offset < SEGMENT_HEADER_BYTES) {
      // The header itself was cut short: keep the remains and start the file afresh.
      copyFileSync(cut.segment.path, target, constants.COPYFILE_EXCL);
      fsyncFile(target);
      fsyncDir(quarantineDir);
      unlinkSync(cut.segment.path);
      fsyncDir(dirname(cut.segment.path));
      return target;
    }
    const fd = openSync(cut.segment.path, 'r+');
    try {
      const bytes = Buffer.alloc(cut.bytes);
      readSync(fd, bytes, 0, cut.bytes, cut.offset);
      // Preallocated zeros after the cut frame are not worth keeping.
      let kept = bytes.length;
      while (kept > 0 && bytes[kept - 1] === 0) kept--;
      const out = openSync(target, 'wx', 0o600);
      try {
        writeSync(out, bytes, 0, kept);
        fsyncSync(out);
      } finally {
        closeSync(out);
      }
      fsyncDir(quarantineDir);
      ftruncateSync(fd, cut.offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return target;
  } catch (error) {
    throw ioError(`cut the torn tail of journal segment "${cut.segment.name}"`, error);
  }
}

/** `base + suffix`, or `base.2 + suffix`, `base.3 + suffix`, ... whichever does not exist yet. */
function unusedPath(base: string, suffix: string): string {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? `${base}${suffix}` : `${base}.${n}${suffix}`;
    if (!existsSync(candidate)) return candidate;
  }
}

/**
 * The newest checkpoint of the checkpoint file, if any: its last well-formed line, which
 * must also be its highest-numbered one (an older line copied to the end would make a
 * writer check the log against a replayed, smaller checkpoint). Its signature is the
 * caller's to check (it holds the key).
 */
export function newestCheckpoint(checkpointsPath: string): CheckpointRecord | null {
  let last: CheckpointRecord | null = null;
  let highest: CheckpointRecord | null = null;
  for (const line of readCheckpoints(checkpointsPath)) {
    if (!('record' in line)) continue;
    last = line.record;
    if (highest === null || line.record.n > highest.n) highest = line.record;
  }
  if (last !== null && highest !== null && last !== highest) {
    throw new PalyraError(
      'PALYRA_JOURNAL_CORRUPT',
      `The checkpoint file "${checkpointsPath}" ends with checkpoint ${last.n}, after checkpoint ${highest.n}: it was altered (an old line replayed); refusing to append; run 'palyrad journal verify'`,
    );
  }
  return last;
}

/** Reads the journal's origin from its genesis event. */
export function readOrigin(paths: JournalPaths): string {
  const first = readRecords(paths.segments).next();
  if (first.done || first.value.record.seq !== 1 || first.value.record.kind !== GENESIS_KIND) {
    throw new PalyraError('PALYRA_JOURNAL_CORRUPT', `Journal in "${paths.dir}" does not start with its genesis event: run 'palyrad journal verify'`);
  }
  const payload = JSON.parse(first.value.record.payloadJson) as { origin?: unknown };
  if (typeof payload.origin !== 'string') {
    throw new PalyraError('PALYRA_JOURNAL_CORRUPT', `Genesis event of the journal in "${paths.dir}" names no origin`);
  }
  return payload.origin;
}
