import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUlid, newUlid } from './ids.ts';

test('ULIDs encode the time first, so they sort by creation', () => {
  const a = newUlid(1_700_000_000_000);
  const b = newUlid(1_700_000_000_001);
  assert.equal(isUlid(a), true);
  assert.equal(a.slice(0, 10), '01HF7YAT00');
  assert.ok(a.slice(0, 10) < b.slice(0, 10));
});

test('ULIDs minted in bulk are distinct (the random pool is refilled, not reused)', () => {
  const ids = new Set(Array.from({ length: 2000 }, () => newUlid(0)));
  assert.equal(ids.size, 2000);
  assert.equal(isUlid('not-a-ulid'), false);
});

test('the time part follows every change of millisecond, also backwards, and the random part uses every symbol', () => {
  const head = (ms: number) => newUlid(ms).slice(0, 10);
  assert.equal(head(1_700_000_000_000), '01HF7YAT00');
  assert.equal(head(1_700_000_000_000), '01HF7YAT00');
  assert.equal(head(1_700_000_000_031), '01HF7YAT0Z');
  assert.equal(head(1_700_000_000_032), '01HF7YAT10');
  assert.equal(head(1_700_000_000_000), '01HF7YAT00', 'a clock stepping back is encoded, not the remembered time');
  assert.equal(head(0), '0000000000');
  const symbols = new Set(Array.from({ length: 2000 }, () => newUlid(5).slice(10)).join(''));
  assert.equal(symbols.size, 32);
});
