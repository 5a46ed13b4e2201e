import { canonicalJson, newUlid, PalyraError, type JsonValue } from '../base/index.ts';
import { assertKind, assertName, JOURNAL_FORMAT_VERSION } from './record.ts';
import type { Redactor } from './redact.ts';
import type { UnsealedRecord } from './writer-protocol.ts';

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
  /**
   * The canonical JSON of `payload`, when the caller has it already (a run's tape sizes
   * every step so). Used only when redaction leaves the payload as it is; it must be
   * exactly `canonicalJson(payload)`.
   */
  payloadCanonical?: string;
}

/**
 * Turns an append request into the record to write as event `seq`: validates every
 * field, redacts the payload, serializes it canonically and checks its size. The chain
 * writer adds prevHash and hash. Pure but for the id it mints; throws a clear
 * PalyraError for bad input, before anything is written.
 */
export function prepareRecord(
  input: AppendInput,
  context: { seq: number; redactor: Redactor; maxPayloadBytes: number; now: number },
): UnsealedRecord {
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
    // The record's own ids are stored in the clear: under `sessionId` in the payload they are no secret.
    const ids = input.sessionId && input.runId ? [input.sessionId, input.runId] : input.sessionId ? [input.sessionId] : input.runId ? [input.runId] : undefined;
    const redacted = context.redactor.redact(input.payload, ids ? { publicValues: ids } : {});
    payloadJson = redacted.value === input.payload && input.payloadCanonical !== undefined ? input.payloadCanonical : canonicalJson(redacted.value);
    redactions = redacted.count;
  } catch (error) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid payload for "${input.kind}": ${(error as Error).message}`);
  }
  const bytes = Buffer.byteLength(payloadJson);
  if (bytes > context.maxPayloadBytes) {
    throw new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', `Payload of "${input.kind}" is ${bytes} bytes, over the journal limit of ${context.maxPayloadBytes} bytes`);
  }
  return {
    v: JOURNAL_FORMAT_VERSION,
    seq: context.seq,
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
  };
}
