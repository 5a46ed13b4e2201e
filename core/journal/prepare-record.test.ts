import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../base/index.ts';
import { prepareRecord } from './prepare-record.ts';
import { Redactor } from './redact.ts';

const context = () => ({ seq: 7, redactor: new Redactor(), maxPayloadBytes: 1 << 20, now: 1_790_000_000_000 });

test('a canonical JSON the caller already has is used as is when redaction changes nothing', () => {
  const payload = { b: 1, a: 'plain text' };
  const canonical = canonicalJson(payload);
  const record = prepareRecord({ kind: 'note.added', payload, payloadCanonical: canonical }, context());
  assert.equal(record.payloadJson, canonical);
  assert.equal(record.redactions, 0);
});

test('when redaction changes the payload, the given canonical JSON is ignored: no secret slips through', () => {
  const payload = { apiKey: 'sk-live-abcdefghijklmnopqrstuvwx1234', note: 'ok' };
  const record = prepareRecord({ kind: 'note.added', payload, payloadCanonical: canonicalJson(payload) }, context());
  assert.ok(!record.payloadJson.includes('sk-live'), record.payloadJson);
  assert.ok(record.redactions >= 1);
});

test('the payload limit counts UTF-8 bytes of the canonical JSON: at the limit is accepted, one byte over is refused', () => {
  const payload = { text: 'é'.repeat(10) }; // {"text":"…"}: 11 + 20 bytes, 21 characters
  const bytes = Buffer.byteLength(canonicalJson(payload));
  assert.equal(bytes, 31);
  assert.equal(prepareRecord({ kind: 'note.added', payload }, { ...context(), maxPayloadBytes: bytes }).payloadJson, '{"text":"éééééééééé"}');
  assert.throws(() => prepareRecord({ kind: 'note.added', payload }, { ...context(), maxPayloadBytes: bytes - 1 }), {
    code: 'PALYRA_PAYLOAD_TOO_LARGE',
    message: 'Payload of "note.added" is 31 bytes, over the journal limit of 30 bytes',
  });
});
