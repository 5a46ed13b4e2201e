import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packRecord, unpackRecords, type PackedRecords, type UnsealedRecord } from './writer-protocol.ts';

const record = (seq: number, extra: Partial<UnsealedRecord> = {}): UnsealedRecord => ({
  v: 1,
  seq,
  id: `01JC0000000000000000000${seq}`,
  ts: 1_732_470_000_000 + seq,
  kind: 'tool.result',
  sessionId: 'session-1',
  runId: null,
  actor: 'agent',
  principal: null,
  channel: 'http',
  payloadJson: '{"text":"é \\u0000 \\"quoted\\""}',
  redactions: seq % 3,
  ...extra,
});

test('records packed for the writer thread unpack to equal records, every field in place', () => {
  const records = [record(1), record(2, { sessionId: null, runId: 'run-2', principal: 'admin', channel: null }), record(3, { payloadJson: '[]' })];
  const packed: PackedRecords = [];
  for (const r of records) packRecord(packed, r);
  // What a structured clone keeps: the round trip through it must not matter either.
  assert.deepEqual(unpackRecords(structuredClone(packed)), records);
  assert.deepEqual(unpackRecords([]), []);
});

test('a packed part that does not hold whole records is refused, not half read', () => {
  const packed: PackedRecords = [];
  packRecord(packed, record(1));
  assert.throws(() => unpackRecords(packed.slice(0, -1)), /packed records hold 11 fields, not a multiple of 12/);
});
