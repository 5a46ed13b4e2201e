/**
 * The exported tape file: self-contained JSON lines, so a run can be replayed or audited
 * away from the state directory it came from.
 *
 *   line 1:  {"format":"palyra-tape","fileVersion":1,"runId":…,"sessionId":…,"origin":…,"events":N}
 *   line 2…: {"seq":…,"hash":…,"kind":…,"payload":{…}}   one per tape event, in step order
 *
 * `origin`, `seq` and `hash` tie each event to the journal it was exported from (null for
 * tapes that never were in a journal), so an auditor can check them against
 * `palyrad journal show SEQ`. Pure: reading and writing the file is the caller's job.
 */
import { PalyraError, type JsonValue } from '../base/index.ts';

export const TAPE_FILE_FORMAT = 'palyra-tape';
/** Version of the file layout (the events inside carry their own tapeVersion). */
export const TAPE_FILE_VERSION = 1;

/** The first line of a tape file. */
export interface TapeFileHeader {
  format: typeof TAPE_FILE_FORMAT;
  fileVersion: number;
  runId: string;
  sessionId: string | null;
  /** The journal's origin, or null. */
  origin: string | null;
  events: number;
}

/** One tape event with where it sits in its journal. */
export interface TapeFileEvent {
  seq: number | null;
  hash: string | null;
  kind: string;
  payload: JsonValue;
  /**
   * Secrets the journal redacted from this event (its record's count, covered by the
   * record's hash). Replay relaxes only hashes over text that was redacted; absent in
   * files written before it was recorded (read as 0).
   */
  redactions?: number;
}

/** Writes a tape file's text. */
export function serializeTapeFile(header: Omit<TapeFileHeader, 'format' | 'fileVersion' | 'events'>, events: readonly TapeFileEvent[]): string {
  const head: TapeFileHeader = { format: TAPE_FILE_FORMAT, fileVersion: TAPE_FILE_VERSION, ...header, events: events.length };
  const lines = [JSON.stringify(head)];
  for (const e of events) lines.push(JSON.stringify({ seq: e.seq, hash: e.hash, kind: e.kind, payload: e.payload, ...(e.redactions ? { redactions: e.redactions } : {}) }));
  return `${lines.join('\n')}\n`;
}

/**
 * Reads a tape file's text. The events' contents are checked later, by `parseTape`.
 * @throws PalyraError PALYRA_TAPE_INVALID naming the line, or PALYRA_TAPE_UNSUPPORTED_VERSION.
 */
export function parseTapeFile(text: string): { header: TapeFileHeader; events: TapeFileEvent[] } {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1]?.trim() === '') lines.pop();
  const header = parseLine(lines[0] ?? '', 1) as Partial<TapeFileHeader> | null;
  if (typeof header !== 'object' || header === null || header.format !== TAPE_FILE_FORMAT) {
    throw new PalyraError('PALYRA_TAPE_INVALID', `Not a palyra tape file: line 1 must be a header with "format":"${TAPE_FILE_FORMAT}"`);
  }
  if (typeof header.fileVersion !== 'number' || header.fileVersion > TAPE_FILE_VERSION) {
    throw new PalyraError('PALYRA_TAPE_UNSUPPORTED_VERSION', `Tape file version ${JSON.stringify(header.fileVersion)} is newer than this palyrad reads (up to ${TAPE_FILE_VERSION}); upgrade palyrad`);
  }
  if (typeof header.runId !== 'string' || header.runId === '') throw new PalyraError('PALYRA_TAPE_INVALID', 'Tape file header has no runId');
  const events: TapeFileEvent[] = [];
  for (let i = 1; i < lines.length; i++) {
    const value = parseLine(lines[i] as string, i + 1) as Partial<TapeFileEvent> | null;
    if (typeof value !== 'object' || value === null || typeof value.kind !== 'string' || typeof value.payload !== 'object' || value.payload === null) {
      throw new PalyraError('PALYRA_TAPE_INVALID', `Tape file line ${i + 1} is not an event {seq, hash, kind, payload}`);
    }
    const redactions = Number.isSafeInteger(value.redactions) && (value.redactions as number) > 0 ? { redactions: value.redactions as number } : {};
    events.push({ seq: typeof value.seq === 'number' ? value.seq : null, hash: typeof value.hash === 'string' ? value.hash : null, kind: value.kind, payload: value.payload, ...redactions });
  }
  if (header.events !== events.length) {
    throw new PalyraError('PALYRA_TAPE_INVALID', `Tape file header promises ${String(header.events)} events but the file holds ${events.length}: it was cut short or edited`);
  }
  return { header: header as TapeFileHeader, events };
}

function parseLine(line: string, n: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new PalyraError('PALYRA_TAPE_INVALID', `Tape file line ${n} is not JSON`);
  }
}
