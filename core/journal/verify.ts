import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import { GENESIS_HASH } from '../base/index.ts';
import { checkpointHash, checkpointSignatureValid, readCheckpointFile, type CheckpointLine, type CheckpointRecord, type TrustedKey } from './checkpoints.ts';
import { journalPaths } from './journal-paths.ts';
import { listSegmentEntries } from './segments.ts';
import { checkJournalStart, gapMessage, verifySegment, type Problem, type ProblemCode, type SegmentReport, type SegmentTask } from './verify-segment.ts';
import { verifyWorkerSource } from './verify-worker-source.ts';
import { quoteUntrusted } from './untrusted-text.ts';

export type { Problem, ProblemCode } from './verify-segment.ts';

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
  /** Bytes of segment headers and frames read (zeroed space the daemon keeps ahead is not counted). */
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
  /** Worker threads to use; default: up to 2 (one per core) for journals over 64 MiB, else none. */
  workers?: number;
  /** Called when the worker threads could not be used and verification fell back to this thread. */
  onWorkersFailed?: (error: unknown) => void;
}

/** Problems beyond this many are counted but not listed, so a wrecked log stays readable. */
const MAX_LISTED_PROBLEMS = 1000;
/** Below this size, starting workers costs more than it saves. */
const PARALLEL_MIN_BYTES = 64 * 1024 * 1024;

/**
 * Checks every segment (frames, record shape, sequence, hash chain), the links between
 * segments, and every checkpoint. Segments are independent until they are stitched, so
 * large journals are verified on several cores. Never changes anything; safe beside a
 * running writer.
 */
export async function verifyJournal(journalDir: string, options: VerifyOptions): Promise<VerifyReport> {
  const paths = journalPaths(journalDir);
  const checkpointFile = readCheckpointFile(paths.checkpoints);
  const checkpointLines = 'lines' in checkpointFile ? checkpointFile.lines : [];
  const wanted = checkpointLines.flatMap((l) => ('record' in l ? [l.record.size] : []));
  const { segments, notFiles } = listSegmentEntries(paths.segments);
  const sizes = segments.map((s) => safeSize(s.path));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const tasks: SegmentTask[] = segments.map((segment, i) => {
    const end = segments[i + 1]?.firstSeq ?? Number.MAX_SAFE_INTEGER;
    return { segment, isLast: i === segments.length - 1, wantedSeqs: wanted.filter((s) => s >= segment.firstSeq && s < end), maxProblems: MAX_LISTED_PROBLEMS };
  });
  const done = new Map<string, number>();
  const progress = (name: string, bytes: number): void => {
    if (!options.onProgress) return;
    done.set(name, bytes);
    options.onProgress([...done.values()].reduce((a, b) => a + b, 0), totalBytes);
  };
  const workers = options.workers ?? (totalBytes >= PARALLEL_MIN_BYTES ? Math.min(2, availableParallelism()) : 0);
  const reports =
    workers > 1 && tasks.length > 1
      ? await verifyInWorkers(tasks, Math.min(workers, tasks.length), progress).catch((error: unknown) => {
          options.onWorkersFailed?.(error);
          return verifyHere(tasks, progress);
        })
      : verifyHere(tasks, progress);
  tasks.forEach((t, i) => progress(t.segment.name, sizes[i] ?? 0));
  const report = assemble(reports, checkpointLines, options.trustedKey);
  const strays: Problem[] = notFiles.map((path) => ({ seq: null, code: 'SEGMENT_NOT_FILE', message: `${basename(path)} is named like a segment but is not a regular file` }));
  if ('unreadable' in checkpointFile) {
    strays.push({ seq: null, code: 'CHECKPOINT_FILE_INVALID', message: `${basename(paths.checkpoints)} cannot be read as checkpoints: ${checkpointFile.unreadable}` });
  }
  if (strays.length === 0) return report;
  return { ...report, ok: false, anchored: false, problems: [...strays, ...report.problems] };
}

function verifyHere(tasks: SegmentTask[], progress: (name: string, bytes: number) => void): SegmentReport[] {
  return tasks.map((task) => verifySegment(task, (bytes) => progress(task.segment.name, bytes)));
}

/** Verifies segments on `count` worker threads, each taking the next segment when it is free. */
async function verifyInWorkers(tasks: SegmentTask[], count: number, progress: (name: string, bytes: number) => void): Promise<SegmentReport[]> {
  const source = verifyWorkerSource();
  const reports: SegmentReport[] = new Array(tasks.length);
  let next = 0;
  const workers = Array.from({ length: count }, () => ('code' in source ? new Worker(source.code, { eval: true }) : new Worker(source.url)));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let current = -1;
            const feed = (): void => {
              if (next >= tasks.length) return resolve();
              current = next++;
              worker.postMessage(tasks[current]);
            };
            worker.on('message', (m: { type: 'progress'; name: string; bytes: number } | { type: 'done'; report: SegmentReport } | { type: 'failed'; message: string }) => {
              if (m.type === 'progress') progress(m.name, m.bytes);
              else if (m.type === 'done') {
                reports[current] = m.report;
                feed();
              } else reject(new Error(m.message));
            });
            worker.on('error', reject);
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return reports;
}

/** Stitches segment reports together, checks the links between them, then the checkpoints. */
function assemble(reports: SegmentReport[], lines: CheckpointLine[], key: TrustedKey | null): VerifyReport {
  const problems: Problem[] = [];
  let problemCount = 0;
  let head: { seq: number; hash: string } | null = null;
  let origin: string | null = null;
  const hashAt = new Map<number, string>();
  let events = 0;
  let bytes = 0;
  for (const r of reports) {
    if (r.first) {
      const link = head ? linkProblem(head, r.first) : null;
      if (link) problems.push(link);
      if (!head) checkJournalStart(r.first, problems);
    }
    problems.push(...r.problems);
    problemCount += r.problemCount - r.problems.length;
    if (r.last && (!head || r.last.seq > head.seq)) head = r.last;
    origin ??= r.origin;
    for (const [seq, hash] of r.hashAt) hashAt.set(seq, hash);
    events += r.events;
    bytes += r.bytes;
  }
  const cp = checkCheckpoints(lines, { head, origin, hashAt }, key, problems);
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS);
  const last = reports[reports.length - 1];
  return {
    ok: problems.length === 0 && problemCount === 0,
    events,
    head,
    anchored: problems.length === 0 && cp.anchored,
    checkpoints: lines.length,
    lastCheckpoint: cp.last ? { n: cp.last.n, size: cp.last.size, ts: cp.last.ts } : null,
    origin,
    segments: reports.length,
    bytes,
    tornTail: last && last.tornAt !== null ? { segment: last.name, offset: last.tornAt } : null,
    problems: listed,
  };
}

function linkProblem(prev: { seq: number; hash: string }, first: { seq: number; prevHash: string }): Problem | null {
  if (first.seq <= prev.seq) return { seq: first.seq, code: 'SEQ_OUT_OF_ORDER', message: `event ${first.seq} comes after event ${prev.seq}` };
  if (first.seq > prev.seq + 1) return { seq: first.seq, code: 'SEQ_GAP', message: gapMessage(prev.seq + 1, first.seq) };
  if (first.prevHash !== prev.hash) return { seq: first.seq, code: 'CHAIN_BROKEN', message: `event ${first.seq} does not link to the hash of event ${prev.seq}` };
  return null;
}

function checkCheckpoints(
  lines: CheckpointLine[],
  chain: { head: { seq: number; hash: string } | null; origin: string | null; hashAt: Map<number, string> },
  key: TrustedKey | null,
  problems: Problem[],
): { anchored: boolean; last: CheckpointRecord | null } {
  let previous: CheckpointRecord | null = null;
  let anchored = false;
  const headSeq = chain.head?.seq ?? 0;
  if (lines.length > 0 && !key) {
    problems.push({ seq: null, code: 'CHECKPOINT_NO_KEY', message: 'checkpoints exist but no public key was found to check them: pass --key' });
    return { anchored: false, last: null };
  }
  const beyondEnd: CheckpointRecord[] = [];
  for (const line of lines) {
    if (!('record' in line)) {
      problems.push({ seq: null, code: 'CHECKPOINT_INVALID', message: `checkpoint line ${line.line}: ${line.problem}` });
      continue;
    }
    const cp = line.record;
    const where = `checkpoint ${cp.n} (line ${line.line}, size ${cp.size})`;
    let valid = true;
    const fail = (code: ProblemCode, message: string): void => {
      valid = false;
      problems.push({ seq: cp.size, code, message: `${where}: ${message}` });
    };
    if (key && cp.keyId !== key.keyId) fail('CHECKPOINT_UNKNOWN_KEY', `signed by key ${quoteUntrusted(cp.keyId)}, not the trusted key ${key.keyId}`);
    else if (key && !checkpointSignatureValid(cp, key)) fail('CHECKPOINT_BAD_SIGNATURE', 'the signature is not valid for the trusted key');
    if (chain.origin !== null && cp.origin !== chain.origin) fail('CHECKPOINT_ORIGIN', `names origin ${quoteUntrusted(cp.origin)}, not this journal's ${quoteUntrusted(chain.origin)}`);
    if (previous && (cp.n <= previous.n || cp.size < previous.size || cp.ts < previous.ts)) {
      fail('CHECKPOINT_REPLAYED', `comes after checkpoint ${previous.n} (size ${previous.size}) but is older: an old checkpoint was replayed`);
    } else if (cp.n !== (previous ? previous.n + 1 : 1) || cp.prev !== (previous ? checkpointHash(previous) : GENESIS_HASH)) {
      fail('CHECKPOINT_CHAIN_BROKEN', previous ? `does not follow checkpoint ${previous.n}` : 'does not start the checkpoint chain');
    }
    if (cp.size > headSeq) {
      // Reported once, for the newest such checkpoint (below): every older one past the
      // end says the same thing.
      valid = false;
      beyondEnd.push(cp);
    } else if (cp.size > 0 && chain.hashAt.get(cp.size) !== cp.headHash) {
      fail('CHECKPOINT_MISMATCH', `the hash of event ${cp.size} differs from the signed one: the journal was rewritten`);
    }
    if (valid && chain.head && cp.size === headSeq && cp.headHash === chain.head.hash) anchored = true;
    if (!previous || cp.n > previous.n) previous = cp;
  }
  const newest = beyondEnd.reduce<CheckpointRecord | null>((a, cp) => (a === null || cp.size > a.size ? cp : a), null);
  if (newest) {
    const others = beyondEnd.length - 1;
    problems.push({
      seq: newest.size,
      code: 'TRUNCATED_BELOW_CHECKPOINT',
      message:
        `checkpoint ${newest.n} (size ${newest.size}): covers ${newest.size} events but the journal ends at ${headSeq}: events were removed or cannot be read` +
        (others > 0 ? ` (${others} older checkpoint${others === 1 ? '' : 's'} also cover${others === 1 ? 's' : ''} events past the end)` : ''),
    });
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
