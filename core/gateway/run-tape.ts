import { join } from 'node:path';
import { PalyraError, type JsonValue } from '../base/index.ts';
import { TAPE_KINDS, type TapeFileEvent } from '../agent/index.ts';
import { readRecords, type JournalStore } from '../journal/index.ts';
import { RUN_STOPPED, STOPPED_REASON } from './journal-replay.ts';

/**
 * Runs' tapes in the journal: the readers behind `palyrad tape …` (the port runs record
 * through is the gateway's `journalTapePort`). A tape event is a journal event whose kind is a tape kind and
 * whose `runId` names the run.
 */

const TAPE_KIND_SET: ReadonlySet<string> = new Set(TAPE_KINDS);

/** A run as `tape list` shows it. */
export interface RunSummary {
  runId: string;
  sessionId: string | null;
  model: string | null;
  providerId: string | null;
  startedAt: number | null;
  /** Terminal state and reason once run.finished is on the tape; null while unfinished. */
  state: string | null;
  reason: string | null;
  steps: number;
  firstSeq: number;
  lastSeq: number;
}

/** Every run with a tape in the journal (streamed from the log, so older runs are not missed), oldest first. */
export function listRuns(journalDir: string, filter: { sessionId?: string } = {}): RunSummary[] {
  const runs = new Map<string, RunSummary>();
  for (const { record } of readRecords(join(journalDir, 'segments'))) {
    if (record.runId === null) continue;
    if (record.kind === 'run.interrupted') {
      // Written on restart for a run that was going at a crash (its tape stays unfinished).
      const run = runs.get(record.runId);
      if (run && run.state === null) [run.state, run.reason] = ['failed', 'interrupted'];
      continue;
    }
    if (record.kind === RUN_STOPPED) {
      // Written after the tape of a run a clean stop cancelled: its run.finished says only "cancelled by request".
      const run = runs.get(record.runId);
      if (run && run.state !== null) run.reason = STOPPED_REASON;
      continue;
    }
    if (!TAPE_KIND_SET.has(record.kind)) continue;
    if (filter.sessionId !== undefined && record.sessionId !== filter.sessionId) continue;
    let run = runs.get(record.runId);
    if (!run) {
      run = { runId: record.runId, sessionId: record.sessionId, model: null, providerId: null, startedAt: null, state: null, reason: null, steps: 0, firstSeq: record.seq, lastSeq: record.seq };
      runs.set(record.runId, run);
    }
    run.steps += 1;
    run.lastSeq = record.seq;
    if (record.kind === 'run.started' || record.kind === 'run.finished') {
      const payload = parsePayload(record.payloadJson, record.seq) as Record<string, unknown>;
      if (record.kind === 'run.started') {
        run.model = typeof payload['model'] === 'string' ? payload['model'] : null;
        run.providerId = typeof payload['providerId'] === 'string' ? payload['providerId'] : null;
        run.startedAt = typeof payload['at'] === 'number' ? payload['at'] : null;
      } else {
        run.state = typeof payload['state'] === 'string' ? payload['state'] : null;
        run.reason = typeof payload['reason'] === 'string' ? payload['reason'] : null;
      }
    }
  }
  return [...runs.values()];
}

/**
 * The tape of one run, in journal order, with each event's seq and hash.
 * @throws PalyraError PALYRA_NOT_FOUND when the journal holds no tape for the run.
 */
export function readRunTape(journalDir: string, runId: string): { sessionId: string | null; events: TapeFileEvent[] } {
  const events: TapeFileEvent[] = [];
  let sessionId: string | null = null;
  for (const { record } of readRecords(join(journalDir, 'segments'))) {
    if (record.runId !== runId || !TAPE_KIND_SET.has(record.kind)) continue;
    sessionId ??= record.sessionId;
    events.push({ seq: record.seq, hash: record.hash, kind: record.kind, payload: parsePayload(record.payloadJson, record.seq), ...(record.redactions > 0 ? { redactions: record.redactions } : {}) });
  }
  if (events.length === 0) throw new PalyraError('PALYRA_NOT_FOUND', `No tape for run "${runId}" in this journal; 'palyrad tape list' shows the runs it has`);
  return { sessionId, events };
}

/**
 * The tape of one run from a running store: through the index when it holds the whole
 * run (a daemon's common case, no scan of the log on its event loop), else as readRunTape.
 * @throws PalyraError PALYRA_NOT_FOUND when the journal holds no tape for the run.
 */
export function readRunTapeOf(store: JournalStore, runId: string): { sessionId: string | null; events: TapeFileEvent[] } {
  const indexed = store.runEventsFromIndex(runId, 'run.started');
  if (indexed === null) return readRunTape(store.paths.dir, runId);
  const events: TapeFileEvent[] = [];
  let sessionId: string | null = null;
  for (const e of indexed) {
    if (!TAPE_KIND_SET.has(e.kind)) continue;
    sessionId ??= e.sessionId;
    events.push({ seq: e.seq, hash: e.hash, kind: e.kind, payload: e.payload, ...(e.redactions > 0 ? { redactions: e.redactions } : {}) });
  }
  if (events.length === 0) return readRunTape(store.paths.dir, runId);
  return { sessionId, events };
}

function parsePayload(json: string, seq: number): JsonValue {
  try {
    return JSON.parse(json) as JsonValue;
  } catch {
    throw new PalyraError('PALYRA_JOURNAL_CORRUPT', `Event ${seq} has a payload that is not JSON: run 'palyrad journal verify'`);
  }
}
