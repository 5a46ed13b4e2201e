import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { parseClientMessage } from './ws-protocol.ts';

function failure(text: string): { code: string; message: string; ref: unknown } {
  try {
    parseClientMessage(text);
  } catch (error) {
    assert.ok(error instanceof PalyraError);
    return { code: error.code, message: error.message, ref: error.details?.ref ?? null };
  }
  throw new Error(`parsed: ${text}`);
}

test('client messages parse into their ops with defaults filled in', () => {
  assert.deepEqual(parseClientMessage('{"op":"subscribe","id":"a","run":"run_1"}'), { op: 'subscribe', id: 'a', run: 'run_1', after: 0 });
  assert.deepEqual(parseClientMessage('{"op":"subscribe","id":3,"run":"run_1","after":12}'), { op: 'subscribe', id: 3, run: 'run_1', after: 12 });
  assert.deepEqual(parseClientMessage('{"op":"unsubscribe","id":3}'), { op: 'unsubscribe', id: 3 });
  assert.deepEqual(parseClientMessage('{"op":"send","session":"ses_1","text":"hi","idempotencyKey":"k"}'), { op: 'send', id: null, session: 'ses_1', text: 'hi', idempotencyKey: 'k', mode: undefined });
  assert.deepEqual(parseClientMessage('{"op":"ping"}'), { op: 'ping', id: null });
});

test('malformed messages are refused with a stable code and the id they carried', () => {
  assert.deepEqual(failure('nope'), { code: 'PALYRA_INVALID_JSON', message: 'Message is not valid JSON', ref: null });
  assert.deepEqual(failure('null'), { code: 'PALYRA_INVALID_JSON', message: 'Message must be a JSON object', ref: null });
  assert.deepEqual(failure('{"id":1}'), { code: 'PALYRA_INVALID_ARGUMENT', message: 'Unknown op null: expected subscribe, unsubscribe, send or ping', ref: 1 });
  assert.deepEqual(failure('{"op":"subscribe","run":"r"}'), { code: 'PALYRA_INVALID_ARGUMENT', message: 'subscribe needs an "id": a string of 1–128 characters or an integer', ref: null });
  assert.deepEqual(failure('{"op":"subscribe","id":"a","run":"r","after":1.5}'), { code: 'PALYRA_INVALID_ARGUMENT', message: '"after" must be a non-negative integer', ref: 'a' });
  assert.deepEqual(failure('{"op":"subscribe","id":"a","run":""}'), { code: 'PALYRA_INVALID_ARGUMENT', message: 'subscribe needs a "run" id', ref: 'a' });
  assert.deepEqual(failure(`{"op":"unsubscribe","id":"${'x'.repeat(129)}"}`), { code: 'PALYRA_INVALID_ARGUMENT', message: 'unsubscribe needs the "id" of the subscription', ref: null });
  assert.deepEqual(failure('{"op":"send","id":{},"session":"s","text":"t"}'), { code: 'PALYRA_INVALID_ARGUMENT', message: '"id" must be a string of 1–128 characters or an integer', ref: null });
  assert.deepEqual(failure('{"op":"send","id":2,"text":"t"}'), { code: 'PALYRA_INVALID_ARGUMENT', message: 'send needs a "session" id or key', ref: 2 });
});
