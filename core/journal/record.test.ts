import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, GENESIS_HASH, sha256Hex } from '../base/index.ts';
import { computeRecordHash, hashInput, recordShapeProblem, type HashedFields } from './record.ts';

const fields: HashedFields = {
  v: 1,
  seq: 1,
  id: '01ARZ3NDEKTSV4RRFFQ69G5FB2',
  ts: 1730000000000,
  kind: 'journal.genesis',
  sessionId: null,
  runId: 'run-1',
  actor: 'system',
  principal: 'user:ops',
  channel: null,
  payloadJson: canonicalJson({ origin: 'palyra:journal:test', n: [1, 2.5], 'é': 'x' }),
  redactions: 0,
  prevHash: GENESIS_HASH,
};

test('the hand-written hash input equals canonical JSON of the stored fields', () => {
  assert.equal(hashInput(fields), canonicalJson(fields));
  const tricky = { ...fields, actor: 'a"\\\u2028', payloadJson: '{"q":"\\"\\n"}', principal: null, redactions: 3, ts: 0 };
  assert.equal(hashInput(tricky), canonicalJson(tricky));
});

test('the record hash matches a vector computed independently (Python json.dumps sort_keys + hashlib)', () => {
  assert.equal(computeRecordHash(fields), sha256Hex(hashInput(fields)));
  // docs/journal-format.md shows how this vector was computed outside palyrad.
  assert.equal(computeRecordHash(fields), '19307e351eecb73f7dfbb487ae06101c03383e75c2dfd42237469a6ce34507b7');
});

test('any field change changes the hash', () => {
  const base = computeRecordHash(fields);
  for (const patch of [{ seq: 2 }, { prevHash: 'f'.repeat(64) }, { redactions: 1 }, { channel: 'cli' }, { payloadJson: '{"a":1}' }, { v: 2 }]) {
    assert.notEqual(computeRecordHash({ ...fields, ...patch }), base, JSON.stringify(patch));
  }
});

test('record shape problems are named', () => {
  const good = { ...fields, hash: computeRecordHash(fields) };
  assert.equal(recordShapeProblem(good), null);
  assert.equal(recordShapeProblem([1]), 'frame body is not a map');
  assert.equal(recordShapeProblem({ ...good, v: 9 }), 'unsupported record version 9');
  assert.equal(recordShapeProblem({ ...good, seq: 0 }), 'seq is not a positive integer');
  assert.equal(recordShapeProblem({ ...good, hash: 'abc' }), 'hash is not a SHA-256 hex digest');
  assert.equal(recordShapeProblem({ ...good, channel: 5 }), 'channel is neither a string nor null');
});
