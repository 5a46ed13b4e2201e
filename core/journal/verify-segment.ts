import { GENESIS_HASH } from '../base/index.ts';
import { decodeFrameBody } from './frame.ts';
import { computeRecordHash, GENESIS_KIND, recordShapeProblem, type StoredRecord } from './record.ts';
import { BodyNotARecordError } from './record-codec.ts';
import { classifyStop, scanSegment, type SegmentFile } from './segments.ts';
import { quoteUntrusted, untrustedProse } from './untrusted-text.ts';

/** Stable codes for everything `journal verify` can find wrong. */
export type ProblemCode =
  | 'SEGMENT_HEADER'
  | 'SEGMENT_NOT_FILE'
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
  | 'CHECKPOINT_FILE_INVALID'
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

/** One segment to verify on its own (plain data: it crosses to worker threads). */
export interface SegmentTask {
  segment: SegmentFile;
  /** Only the newest segment may end in a torn frame. */
  isLast: boolean;
  /** Seqs whose hashes checkpoints claim; their hashes are reported back. */
  wantedSeqs: number[];
  /** Problems listed per segment at most; the rest are only counted. */
  maxProblems: number;
}

/** What a segment holds and what is wrong inside it; links to its neighbours are checked by the caller. */
export interface SegmentReport {
  name: string;
  first: { seq: number; prevHash: string } | null;
  last: { seq: number; hash: string } | null;
  events: number;
  problems: Problem[];
  problemCount: number;
  hashAt: [number, string][];
  origin: string | null;
  tornAt: number | null;
  bytes: number;
}

/**
 * Verifies one segment: frames, record shape, hashes, and sequence and chain links
 * between the records inside it. Never changes anything.
 */
export function verifySegment(task: SegmentTask, onProgress?: (bytes: number) => void): SegmentReport {
  const { segment } = task;
  const wanted = new Set(task.wantedSeqs);
  const report: SegmentReport = {
    name: segment.name,
    first: null,
    last: null,
    events: 0,
    problems: [],
    problemCount: 0,
    hashAt: [],
    origin: null,
    tornAt: null,
    bytes: 0,
  };
  const problem = (seq: number | null, code: ProblemCode, message: string): Problem | null => {
    report.problemCount++;
    if (report.problems.length >= task.maxProblems) return null;
    const listed = { seq, code, message };
    report.problems.push(listed);
    return listed;
  };
  // A gap may be filled later in the segment (two swapped frames): those events are out of
  // place, not missing, so a gap is settled only at the segment's end.
  const gaps: OpenGap[] = [];
  let head: StoredRecord | null = null;
  let nextProgress = 8 * 1024 * 1024;
  for (const item of scanSegment(segment.path)) {
    if (item.type === 'torn' || item.type === 'corrupt') {
      // The same reading as the writer's (classifyStop): a write a crash cut short is a
      // torn tail the next writer cuts; bytes that were whole once are damage.
      const verdict = classifyStop(segment.path, item);
      if (!verdict.torn) {
        const where = `segment "${segment.name}" at byte ${item.offset}`;
        const message =
          item.type === 'corrupt' || verdict.resumesAt === null
            ? `${where}: ${verdict.reason}`
            : `${where}: the frame there (${verdict.reason}) is damaged, yet whole frames follow from byte ${verdict.resumesAt}: the events from there on cannot be read in order`;
        problem(item.type === 'torn' && head ? head.seq + 1 : null, verdict.code, message);
      } else if (task.isLast) report.tornAt = item.offset;
      else problem(null, 'FRAME_TORN', `segment "${segment.name}" ends in a cut frame at byte ${item.offset} but is not the newest segment`);
      break;
    }
    report.bytes = item.end;
    if (onProgress && item.end >= nextProgress) {
      onProgress(item.end);
      nextProgress = item.end + 8 * 1024 * 1024;
    }
    const r = decode(item.body, segment, item.offset, problem);
    if (!r) continue;
    if (head === null) {
      report.first = { seq: r.seq, prevHash: r.prevHash };
      if (r.seq !== segment.firstSeq) {
        problem(r.seq, 'SEGMENT_NAME_MISMATCH', `segment "${segment.name}" is named for seq ${segment.firstSeq} but starts at seq ${r.seq}`);
      }
    } else if (r.seq <= head.seq) {
      problem(r.seq, 'SEQ_OUT_OF_ORDER', `event ${r.seq} comes after event ${head.seq}`);
      gapHolding(gaps, r.seq)?.found.add(r.seq);
    } else if (r.seq > head.seq + 1) {
      const listed = problem(r.seq, 'SEQ_GAP', gapMessage(head.seq + 1, r.seq));
      if (listed) gaps.push({ listed, from: head.seq + 1, to: r.seq, found: new Set() });
    } else if (r.prevHash !== head.hash) {
      problem(r.seq, 'CHAIN_BROKEN', `event ${r.seq} does not link to the hash of event ${r.seq - 1}`);
    }
    if (computeRecordHash(r) !== r.hash) problem(r.seq, 'HASH_MISMATCH', `event ${r.seq} does not match its hash: its content was changed`);
    // Only a segment's first record can be the genesis; a repeated seq 1 further on is out of order, not a second origin.
    if (r.seq === 1 && head === null) report.origin = genesisOrigin(r, problem);
    if (wanted.has(r.seq)) report.hashAt.push([r.seq, r.hash]);
    report.events++;
    // Resynchronize on what we saw, so one damaged spot is reported once, not forever after.
    if (head === null || r.seq > head.seq) head = r;
  }
  if (head) report.last = { seq: head.seq, hash: head.hash };
  settleGaps(gaps, report);
  return report;
}

/** A run of seqs missing where a frame jumped ahead, and those of them found later, out of place. */
interface OpenGap {
  listed: Problem;
  from: number;
  to: number;
  found: Set<number>;
}

/** The gap `seq` falls in; gaps open in increasing order (each starts past the head), so a binary search. */
function gapHolding(gaps: OpenGap[], seq: number): OpenGap | undefined {
  let low = 0;
  let high = gaps.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const gap = gaps[mid] as OpenGap;
    if (seq < gap.from) high = mid - 1;
    else if (seq >= gap.to) low = mid + 1;
    else return gap;
  }
  return undefined;
}

/** Drops the gaps that out-of-place frames filled, and names only what is still missing in the rest. */
function settleGaps(gaps: OpenGap[], report: SegmentReport): void {
  for (const gap of gaps) {
    if (gap.found.size === 0) continue;
    if (gap.found.size === gap.to - gap.from) {
      report.problems.splice(report.problems.indexOf(gap.listed), 1);
      report.problemCount--;
      continue;
    }
    gap.listed.message = stillMissingMessage(gap);
  }
}

/** Runs of missing seqs a partly filled gap's message names one by one; more are summed up. */
const MISSING_RUNS_NAMED = 8;

/** The message of a gap some of whose events turned up: the runs of seqs still missing, e.g. "events 3, 5–6 are missing before event 9". */
function stillMissingMessage(gap: OpenGap): string {
  const runs: string[] = [];
  let runCount = 0;
  let missing = 0;
  // The found seqs split the gap into runs: walk them in order rather than every seq of a (possibly huge) gap.
  const found = [...gap.found].sort((a, b) => a - b);
  let from = gap.from;
  for (const stop of [...found, gap.to]) {
    if (stop > from) {
      runCount++;
      missing += stop - from;
      if (runs.length < MISSING_RUNS_NAMED) runs.push(stop - from === 1 ? `${from}` : `${from}–${stop - 1}`);
    }
    from = stop + 1;
  }
  if (missing === 1) return `event ${runs[0]} is missing before event ${gap.to}`;
  const more = runCount > runs.length ? `, … (${runCount} runs, ${missing} events in all)` : '';
  return `events ${runs.join(', ')}${more} are missing before event ${gap.to}`;
}

/** The message for missing events `from`..`to - 1`. */
export function gapMessage(from: number, to: number): string {
  return `${to - from === 1 ? `event ${from} is` : `events ${from}–${to - 1} are`} missing before event ${to}`;
}

/** Checks how the first segment starts: at seq 1, linked to the genesis hash. */
export function checkJournalStart(first: SegmentReport['first'], problems: Problem[]): void {
  if (!first) return;
  if (first.seq !== 1) problems.push({ seq: first.seq, code: 'SEQ_GAP', message: gapMessage(1, first.seq) });
  else if (first.prevHash !== GENESIS_HASH) problems.push({ seq: 1, code: 'CHAIN_BROKEN', message: 'event 1 does not start from the genesis hash' });
}

function decode(body: Uint8Array, segment: SegmentFile, offset: number, problem: (seq: number | null, code: ProblemCode, message: string) => void): StoredRecord | null {
  let value: unknown;
  try {
    value = decodeFrameBody(body);
  } catch (error) {
    const reason = untrustedProse((error as Error).message);
    if (error instanceof BodyNotARecordError) problem(null, 'RECORD_INVALID', `segment "${segment.name}" at byte ${offset}: ${reason}`);
    else problem(null, 'FRAME_DECODE', `segment "${segment.name}" at byte ${offset}: frame body is not msgpack (${reason})`);
    return null;
  }
  const shape = recordShapeProblem(value);
  if (shape) {
    // Only a seq that could be one: -Infinity or 1.5 names no event (and JSON has no -Infinity).
    const claimed = (value as { seq?: unknown } | null)?.seq;
    const seq = Number.isSafeInteger(claimed) ? (claimed as number) : null;
    problem(seq, 'RECORD_INVALID', `segment "${segment.name}" at byte ${offset}: ${shape}`);
    return null;
  }
  return value as StoredRecord;
}

function genesisOrigin(r: StoredRecord, problem: (seq: number | null, code: ProblemCode, message: string) => void): string | null {
  if (r.kind !== GENESIS_KIND) {
    problem(1, 'GENESIS_MISSING', `event 1 is ${quoteUntrusted(r.kind)}, not the "${GENESIS_KIND}" event`);
    return null;
  }
  try {
    const payload = JSON.parse(r.payloadJson) as { origin?: unknown };
    if (typeof payload.origin === 'string') return payload.origin;
  } catch {
    // reported below
  }
  problem(1, 'GENESIS_MISSING', 'the genesis event names no origin');
  return null;
}
