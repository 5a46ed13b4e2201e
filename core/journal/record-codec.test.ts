import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { GENESIS_HASH } from '../base/index.ts';
import { decodeRecordBody, encodeRecordInto } from './record-codec.ts';
import { recordShapeProblem, type StoredRecord } from './record.ts';

const base: StoredRecord = {
  v: 1,
  seq: 1,
  id: '01ARZ3NDEKTSV4RRFFQ69G5FB2',
  ts: 1730000000000,
  kind: 'note.added',
  sessionId: null,
  runId: 'run-1',
  actor: 'system',
  principal: 'user:ops',
  channel: null,
  payloadJson: '{"a":1}',
  redactions: 0,
  prevHash: GENESIS_HASH,
  hash: 'f'.repeat(64),
};

// Every size class of integers and strings MessagePack distinguishes, and non-ASCII text.
const variants: Partial<StoredRecord>[] = [
  {},
  { seq: 127 },
  { seq: 128 },
  { seq: 255 },
  { seq: 256 },
  { seq: 65535 },
  { seq: 65536 },
  { seq: 2 ** 32 - 1 },
  { seq: 2 ** 32 },
  { seq: Number.MAX_SAFE_INTEGER },
  { ts: -1 },
  { ts: -32 },
  { ts: -33 },
  { ts: -129 },
  { ts: -32769 },
  { ts: -(2 ** 31) - 1 },
  { payloadJson: JSON.stringify({ text: 'x'.repeat(31) }).slice(0, 31) },
  { payloadJson: 'x'.repeat(32) },
  { payloadJson: 'é'.repeat(200) },
  { payloadJson: 'x'.repeat(70000) },
  { kind: 'ü.note', sessionId: 'sess-😀', channel: 'cli' },
];

test('records encode to MessagePack the reference library decodes to the same value', () => {
  for (const v of variants) {
    const record = { ...base, ...v };
    const { buffer, bodyLength } = encodeRecordInto(record, 8);
    const body = buffer.subarray(8, 8 + bodyLength);
    assert.equal(buffer.length, 8 + bodyLength, 'the size estimate is exact');
    assert.deepEqual(decode(body), record, JSON.stringify(v).slice(0, 80));
    assert.deepEqual(decodeRecordBody(body), record);
  }
});

test('bodies from the reference encoder decode the same way (fallback path included)', () => {
  for (const v of variants) {
    const record = { ...base, ...v };
    assert.deepEqual(decodeRecordBody(encode(record)), record);
  }
  const { hash, ...rest } = base;
  const reordered = { hash, ...rest, extra: true };
  assert.deepEqual(decodeRecordBody(encode(reordered)), reordered);
});

test('damaged bodies are never silently decoded as records', () => {
  const { buffer, bodyLength } = encodeRecordInto(base, 0);
  const body = Buffer.from(buffer.subarray(0, bodyLength));
  assert.throws(() => decodeRecordBody(body.subarray(0, body.length - 3)), 'a truncated body does not decode');
  // Rename the key "seq" to "sea": the fast path refuses the unknown key, the general
  // decoder reads it faithfully, and the shape check then names what is missing.
  const at = body.indexOf(Buffer.from('\xa3seq', 'latin1'));
  assert.ok(at > 0);
  body[at + 3] = 'a'.charCodeAt(0);
  const decoded = decodeRecordBody(body) as Record<string, unknown>;
  assert.equal(decoded.sea, base.seq);
  assert.equal('seq' in decoded, false);
  assert.equal(recordShapeProblem(decoded), 'seq is not a positive integer');
});
