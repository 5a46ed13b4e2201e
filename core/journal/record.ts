import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { GENESIS_HASH, isSha256Hex, PalyraError, type JsonValue } from '../base/index.ts';
import { quoteUntrusted } from './untrusted-text.ts';

/** Version of the journal record format; recorded in every frame and in segment headers. */
export const JOURNAL_FORMAT_VERSION = 1;

/**
 * A journal event as it is stored: the payload is kept as its canonical JSON text
 * (`payloadJson`), so writers serialize it once and verifiers hash without walking it.
 */
export interface StoredRecord {
  v: number;
  seq: number;
  id: string;
  ts: number;
  kind: string;
  sessionId: string | null;
  runId: string | null;
  actor: string;
  principal: string | null;
  channel: string | null;
  /** Canonical JSON text of the (already redacted) payload. */
  payloadJson: string;
  /** How many secrets the redactor removed from the payload before it was written. */
  redactions: number;
  prevHash: string;
  hash: string;
}

/** A journal event as readers see it: the payload parsed back into a value. */
export interface JournalEvent extends Omit<StoredRecord, 'payloadJson'> {
  payload: JsonValue;
}

/** The fields the hash covers: every stored field but `hash`. */
export type HashedFields = Omit<StoredRecord, 'hash'>;

/**
 * Canonical JSON (RFC 8785) of a stored record without its `hash`. `payloadJson` is a
 * string field like any other, so verifiers hash exactly the bytes that were stored and
 * never re-serialize a payload. Equal to `canonicalJson(fields)` (a unit test holds
 * this); written out by hand because it runs for every event written and verified.
 */
export function hashInput(r: HashedFields): string {
  // Keys in UTF-16 order: actor, channel, id, kind, payloadJson, prevHash, principal,
  // redactions, runId, seq, sessionId, ts, v.
  return (
    `{"actor":${JSON.stringify(r.actor)},"channel":${str(r.channel)},"id":${JSON.stringify(r.id)},` +
    `"kind":${JSON.stringify(r.kind)},"payloadJson":${JSON.stringify(r.payloadJson)},"prevHash":${JSON.stringify(r.prevHash)},` +
    `"principal":${str(r.principal)},"redactions":${int(r.redactions)},"runId":${str(r.runId)},` +
    `"seq":${int(r.seq)},"sessionId":${str(r.sessionId)},"ts":${int(r.ts)},"v":${int(r.v)}}`
  );
}

const str = (s: string | null): string => (s === null ? 'null' : JSON.stringify(s));
// Record integers are safe integers (checked on read and assigned on write), whose
// canonical form is their decimal digits.
const int = (n: number): string => String(n);

type HashFn = (data: string) => string;
/** One-shot `crypto.hash` where the runtime has it (Node ≥ 20.12), else createHash. */
const sha256: HashFn =
  typeof (nodeCrypto as { hash?: unknown }).hash === 'function'
    ? (data) => (nodeCrypto as unknown as { hash: (alg: string, d: string, enc: string) => string }).hash('sha256', data, 'hex')
    : (data) => createHash('sha256').update(data).digest('hex');

/** The record's hash: lowercase hex SHA-256 of its canonical JSON without `hash`. */
export function computeRecordHash(r: HashedFields): string {
  return sha256(hashInput(r));
}

/** Parses a stored record's payload into the reader's view. */
export function toJournalEvent(r: StoredRecord): JournalEvent {
  const { payloadJson, ...rest } = r;
  let payload: JsonValue;
  try {
    payload = JSON.parse(payloadJson) as JsonValue;
  } catch {
    throw new PalyraError('PALYRA_JOURNAL_CORRUPT', `Event ${r.seq} has a payload that is not JSON: run 'palyrad journal verify'`);
  }
  return { ...rest, payload };
}

/** Why a decoded frame is not a well-formed record, or null when it is. */
export function recordShapeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'frame body is not a map';
  const r = value as Record<string, unknown>;
  // Never JSON.stringify what a hostile frame holds: it may be nested past the stack, or megabytes long.
  if (r.v !== JOURNAL_FORMAT_VERSION) return `unsupported record version ${quoteUntrusted(r.v)}`;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return 'seq is not a positive integer';
  if (typeof r.id !== 'string' || r.id === '') return 'id is missing';
  if (!Number.isSafeInteger(r.ts)) return 'ts is not an integer';
  if (typeof r.kind !== 'string' || r.kind === '') return 'kind is missing';
  if (typeof r.actor !== 'string') return 'actor is missing';
  for (const key of ['sessionId', 'runId', 'principal', 'channel'] as const) {
    if (r[key] !== null && typeof r[key] !== 'string') return `${key} is neither a string nor null`;
  }
  if (typeof r.payloadJson !== 'string') return 'payloadJson is not a string';
  if (!Number.isSafeInteger(r.redactions) || (r.redactions as number) < 0) return 'redactions is not a count';
  if (!isSha256Hex(r.prevHash)) return 'prevHash is not a SHA-256 hex digest';
  if (!isSha256Hex(r.hash)) return 'hash is not a SHA-256 hex digest';
  // A key outside the format is not covered by the hash: text anyone could have added.
  for (const key of Object.keys(r)) if (!RECORD_KEYS.has(key)) return `unexpected key ${quoteUntrusted(key)}`;
  return null;
}

/** The keys of a stored record, exactly (docs/journal-format.md). */
const RECORD_KEYS: ReadonlySet<string> = new Set(['v', 'seq', 'id', 'ts', 'kind', 'sessionId', 'runId', 'actor', 'principal', 'channel', 'payloadJson', 'redactions', 'prevHash', 'hash']);

/** Stable kind names palyrad itself writes. */
export const GENESIS_KIND = 'journal.genesis';
export const RECOVERY_KIND = 'journal.recovered';

/** Names follow `area.event` with lowercase words, e.g. `run.started`, `tool.result`. */
const KIND_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/;

/** Validates an event kind, throwing a usage error that names the problem. */
export function assertKind(kind: unknown): asserts kind is string {
  if (typeof kind !== 'string' || kind.length > 64 || !KIND_PATTERN.test(kind)) {
    throw new PalyraError(
      'PALYRA_INVALID_ARGUMENT',
      `Invalid event kind ${JSON.stringify(kind)}: use lowercase dotted words such as "run.started" (at most 64 characters)`,
    );
  }
}

/** Validates an optional identifier field (session, run, principal, channel, actor). */
export function assertName(field: string, value: unknown): asserts value is string | null | undefined {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || value.length > 128 || !NAME_PATTERN.test(value)) {
    throw new PalyraError(
      'PALYRA_INVALID_ARGUMENT',
      `Invalid ${field} ${JSON.stringify(value)}: use letters, digits and . _ : @ / - (at most 128 characters)`,
    );
  }
}

export { GENESIS_HASH };
