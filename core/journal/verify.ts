import { statSync } from 'node:fs';
import { GENESIS_HASH } from '../base/index.ts';
import { checkpointHash, checkpointSignatureValid, readCheckpoints, type CheckpointRecord, type TrustedKey } from './checkpoints.ts';
import { decodeFrameBody } from './frame.ts';
import { journalPaths } from './journal-paths.ts';
import { computeRecordHash, GENESIS_KIND, recordShapeProblem, type StoredRecord } from './record.ts';
import { listSegments, scanSegment, type SegmentFile } from './segments.ts';

/** Stable codes for everything `journal verify` can find wrong. */
export type ProblemCode =
  | 'SEGMENT_HEADER'
  | 'SEGMENT_NAME_MISMATCH'
  | 'FRAME_LENGTH'
  | 'FRAME_CHECKSUM'
  | 'FRAME_DECODE'
  | 'FRAME_TORN'
  | 'RECORD_INVALID'
  | 'SEQ_GAP'
  | 'SEQ_OUT_OF_ORDER'
  | 'CHAIN_BROKEN'
  | 'HASH_MISMATCH'
  | 'GENESIS_MISSING'
  | 'CHECKPOINT_INVALID'
  | 'CHECKPOINT_NO_KEY'
  | 'CHECKPOINT_UNKNOWN_KEY'
  | 'CHECKPOINT_BAD_SIGNATURE'
  | 'CHECKPOINT_ORIGIN'
  | 'CHECKPOINT_REPLAYED'
  | 'CHECKPOINT_CHAIN_BROKEN'
  | 'CHECKPOINT_MISMATCH'
  | 'TRUNCATED_BELOW_CHECKPOINT';

/** One thing found wrong; `seq` is the event (or checkpoint size) it concerns, when known. */
export interface Problem {
  seq: number | null;
  code: ProblemCode;
  message: string;
}

/** The verdict of `journal verify`. */
export interface VerifyReport {
  ok: boolean;
  events: number;
  head: { seq: number; hash: string } | null;
  anchored: boolean;
  checkpoints: number;
  lastCheckpoint: { n: number; size: number; ts: number } | null;
  origin: string | null;
  segments: number;
  bytes: number;
  /** A write cut by a crash at the very end of the log; the next writer cuts it. Not a problem. */
  tornTail: { segment: string; offset: number } | null;
  problems: Problem[];
}

/** Options for verification. */
export interface VerifyOptions {
  /** The public key checkpoints must be signed by; without it, checkpoints cannot be trusted. */
  trustedKey: TrustedKey | null;
  /** Called as bytes are verified, for a progress display. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Problems beyond this many are counted but not listed, so a wrecked log stays readable. */
const MAX_LISTED_PROBLEMS = 1000;

/**
 * Streams every segment and checks frames, record shape, sequence, the hash chain and
 * every checkpoint. Never changes anything; safe beside a running writer.
 */
export function verifyJournal(journalDir: string, options: VerifyOptions): VerifyReport {
  const paths = journalPaths(journalDir);
  const checkpointLines = readCheckpoints(paths.checkpoints);
  const wanted = new Set<number>();
  for (const line of checkpointLines) if ('record' in line) wanted.add(line.record.size);

  const state = new ChainState(wanted);
  const segments = listSegments(paths.segments);
  const totalBytes = segments.reduce((sum, s) => sum + safeSize(s.path), 0);
  let doneBytes = 0;
  let tornTail: VerifyReport['tornTail'] = null;

  segments.forEach((segment, i) => {
    let firstInSegment = true;
    let segmentDone = 0;
    for (const item of scanSegment(segment.path)) {
      if (item.type === 'frame') {
        segmentDone = item.end;
        if (options.onProgress && (item.end & 0xfffff) < 400) options.onProgress(doneBytes + item.end, totalBytes);
        const record = decode(item.body, segment, item.offset, state);
        if (!record) continue;
        if (firstInSegment && record.seq !== segment.firstSeq) {
          state.problem(record.seq, 'SEGMENT_NAME_MISMATCH', `segment "${segment.name}" is named for seq ${segment.firstSeq} but starts at seq ${record.seq}`);
        }
        firstInSegment = false;
        state.check(record);
      } else if (item.type === 'torn' && i === segments.length - 1) {
        tornTail = { segment: segment.name, offset: item.offset };
      } else if (item.type === 'torn') {
        state.problem(null, 'FRAME_TORN', `segment "${segment.name}" ends in a cut frame at byte ${item.offset} but is not the newest segment`);
      } else {
        state.problem(null, item.code, `segment "${segment.name}" at byte ${item.offset}: ${item.reason}`);
      }
    }
    doneBytes += Math.max(segmentDone, safeSize(segment.path));
  });
  options.onProgress?.(totalBytes, totalBytes);

  const cp = checkCheckpoints(checkpointLines, state, options.trustedKey);
  const problems = state.problems;
  return {
    ok: problems.length === 0 && state.problemCount === 0,
    events: state.events,
    head: state.head ? { seq: state.head.seq, hash: state.head.hash } : null,
    anchored: state.problemCount === 0 && cp.anchored,
    checkpoints: checkpointLines.length,
    lastCheckpoint: cp.last ? { n: cp.last.n, size: cp.last.size, ts: cp.last.ts } : null,
    origin: state.origin,
    segments: segments.length,
    bytes: totalBytes,
    tornTail,
    problems,
  };
}

/** Walks records in file order, remembering what the chain should look like next. */
class ChainState {
  events = 0;
  head: StoredRecord | null = null;
  origin: string | null = null;
  problems: Problem[] = [];
  problemCount = 0;
  /** Hashes at the sizes checkpoints claim, collected in one pass. */
  readonly hashAt = new Map<number, string>();

  constructor(private readonly wantedSeqs: Set<number>) {}

  problem(seq: number | null, code: ProblemCode, message: string): void {
    this.problemCount++;
    if (this.problems.length < MAX_LISTED_PROBLEMS) this.problems.push({ seq, code, message });
  }

  check(r: StoredRecord): void {
    const prev = this.head;
    const expectedSeq = prev ? prev.seq + 1 : 1;
    let sequenceOk = true;
    if (r.seq < expectedSeq) {
      this.problem(r.seq, 'SEQ_OUT_OF_ORDER', `event ${r.seq} comes after event ${prev?.seq ?? 0}`);
      sequenceOk = false;
    } else if (r.seq > expectedSeq) {
      const missing = r.seq - expectedSeq;
      this.problem(r.seq, 'SEQ_GAP', `${missing === 1 ? `event ${expectedSeq} is` : `events ${expectedSeq}–${r.seq - 1} are`} missing before event ${r.seq}`);
      sequenceOk = false;
    }
    const expectedPrev = prev ? prev.hash : GENESIS_HASH;
    if (sequenceOk && r.prevHash !== expectedPrev) {
      this.problem(r.seq, 'CHAIN_BROKEN', `event ${r.seq} does not link to the hash of event ${r.seq - 1}`);
    }
    if (computeRecordHash(r) !== r.hash) {
      this.problem(r.seq, 'HASH_MISMATCH', `event ${r.seq} does not match its hash: its content was changed`);
    }
    if (r.seq === 1) this.checkGenesis(r);
    if (this.wantedSeqs.has(r.seq)) this.hashAt.set(r.seq, r.hash);
    this.events++;
    // Resynchronize on what we saw, so one damaged spot is reported once, not forever after.
    if (!prev || r.seq > prev.seq) this.head = r;
  }

  private checkGenesis(r: StoredRecord): void {
    if (r.kind !== GENESIS_KIND) {
      this.problem(1, 'GENESIS_MISSING', `event 1 is "${r.kind}", not the "${GENESIS_KIND}" event`);
      return;
    }
    try {
      const payload = JSON.parse(r.payloadJson) as { origin?: unknown };
      if (typeof payload.origin === 'string') this.origin = payload.origin;
      else this.problem(1, 'GENESIS_MISSING', 'the genesis event names no origin');
    } catch {
      this.problem(1, 'GENESIS_MISSING', 'the genesis event payload is not JSON');
    }
  }
}

function decode(body: Uint8Array, segment: SegmentFile, offset: number, state: ChainState): StoredRecord | null {
  let value: unknown;
  try {
    value = decodeFrameBody(body);
  } catch (error) {
    state.problem(null, 'FRAME_DECODE', `segment "${segment.name}" at byte ${offset}: frame body is not msgpack (${(error as Error).message})`);
    return null;
  }
  const problem = recordShapeProblem(value);
  if (problem) {
    const seq = typeof (value as { seq?: unknown })?.seq === 'number' ? (value as { seq: number }).seq : null;
    state.problem(seq, 'RECORD_INVALID', `segment "${segment.name}" at byte ${offset}: ${problem}`);
    return null;
  }
  return value as StoredRecord;
}

function checkCheckpoints(
  lines: ReturnType<typeof readCheckpoints>,
  state: ChainState,
  key: TrustedKey | null,
): { anchored: boolean; last: CheckpointRecord | null } {
  let previous: CheckpointRecord | null = null;
  let anchored = false;
  const headSeq = state.head?.seq ?? 0;
  if (lines.length > 0 && !key) {
    state.problem(null, 'CHECKPOINT_NO_KEY', 'checkpoints exist but no public key was found to check them: pass --key');
    return { anchored: false, last: null };
  }
  for (const line of lines) {
    if (!('record' in line)) {
      state.problem(null, 'CHECKPOINT_INVALID', `checkpoint line ${line.line}: ${line.problem}`);
      continue;
    }
    const cp = line.record;
    const where = `checkpoint ${cp.n} (line ${line.line}, size ${cp.size})`;
    let valid = true;
    const fail = (code: ProblemCode, message: string): void => {
      valid = false;
      state.problem(cp.size, code, `${where}: ${message}`);
    };
    if (key && cp.keyId !== key.keyId) fail('CHECKPOINT_UNKNOWN_KEY', `signed by key ${cp.keyId}, not the trusted key ${key.keyId}`);
    else if (key && !checkpointSignatureValid(cp, key)) fail('CHECKPOINT_BAD_SIGNATURE', 'the signature is not valid for the trusted key');
    if (state.origin !== null && cp.origin !== state.origin) fail('CHECKPOINT_ORIGIN', `names origin "${cp.origin}", not this journal's "${state.origin}"`);
    if (previous && (cp.n <= previous.n || cp.size < previous.size || cp.ts < previous.ts)) {
      fail('CHECKPOINT_REPLAYED', `comes after checkpoint ${previous.n} (size ${previous.size}) but is older: an old checkpoint was replayed`);
    } else if (cp.n !== (previous ? previous.n + 1 : 1) || cp.prev !== (previous ? checkpointHash(previous) : GENESIS_HASH)) {
      fail('CHECKPOINT_CHAIN_BROKEN', previous ? `does not follow checkpoint ${previous.n}` : 'does not start the checkpoint chain');
    }
    if (cp.size > headSeq) {
      fail('TRUNCATED_BELOW_CHECKPOINT', `covers ${cp.size} events but the journal ends at ${headSeq}: events were removed`);
    } else if (cp.size > 0 && state.hashAt.get(cp.size) !== cp.headHash) {
      fail('CHECKPOINT_MISMATCH', `the hash of event ${cp.size} differs from the signed one: the journal was rewritten`);
    }
    if (valid && cp.size === headSeq && state.head && cp.headHash === state.head.hash) anchored = true;
    if (!previous || cp.n > previous.n) previous = cp;
  }
  return { anchored, last: previous };
}

function safeSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
