import { canonicalJson, newUlid, PalyraError, type JsonValue } from '../base/index.ts';
import { encodeFrame } from './frame.ts';
import { assertKind, assertName, computeRecordHash, JOURNAL_FORMAT_VERSION, type StoredRecord } from './record.ts';
import type { Redactor } from './redact.ts';

/** What a caller hands to `append`. The store assigns seq, id (unless given), ts and hashes. */
export interface AppendInput {
  kind: string;
  payload: JsonValue;
  sessionId?: string | null;
  runId?: string | null;
  actor?: string;
  principal?: string | null;
  channel?: string | null;
  id?: string;
}

/**
 * Turns an append request into the record and frame to write: validates every field,
 * redacts the payload, serializes it canonically, checks its size, chains it onto
 * `prev` and hashes it. Pure but for the id it mints; throws a clear PalyraError for
 * bad input, before anything is written.
 */
export function prepareRecord(
  input: AppendInput,
  context: { prev: { seq: number; hash: string }; redactor: Redactor; maxPayloadBytes: number; now: number },
): { record: StoredRecord; frame: Buffer } {
  assertKind(input.kind);
  assertName('actor', input.actor);
  assertName('session id', input.sessionId);
  assertName('run id', input.runId);
  assertName('principal', input.principal);
  assertName('channel', input.channel);
  assertName('event id', input.id);
  let payloadJson: string;
  let redactions: number;
  try {
    const redacted = context.redactor.redact(input.payload);
    payloadJson = canonicalJson(redacted.value);
    redactions = redacted.count;
  } catch (error) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid payload for "${input.kind}": ${(error as Error).message}`);
  }
  const bytes = Buffer.byteLength(payloadJson);
  if (bytes > context.maxPayloadBytes) {
    throw new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', `Payload of "${input.kind}" is ${bytes} bytes, over the journal limit of ${context.maxPayloadBytes} bytes`);
  }
  const record: StoredRecord = {
    v: JOURNAL_FORMAT_VERSION,
    seq: context.prev.seq + 1,
    id: input.id ?? newUlid(context.now),
    ts: context.now,
    kind: input.kind,
    sessionId: input.sessionId ?? null,
    runId: input.runId ?? null,
    actor: input.actor ?? 'system',
    principal: input.principal ?? null,
    channel: input.channel ?? null,
    payloadJson,
    redactions,
    prevHash: context.prev.hash,
    hash: '',
  };
  // The hash covers every field but itself (hashInput never reads `hash`).
  record.hash = computeRecordHash(record);
  return { record, frame: encodeFrame(record) };
}
