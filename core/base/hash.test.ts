import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GENESIS_HASH, isSha256Hex, sha256Hex } from './hash.ts';

test('sha256Hex matches the published vector for "abc"', () => {
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('isSha256Hex accepts exactly 64 lowercase hex digits', () => {
  assert.equal(isSha256Hex(GENESIS_HASH), true);
  assert.equal(isSha256Hex(sha256Hex('x')), true);
  for (const bad of ['A'.repeat(64), 'g'.repeat(64), '0'.repeat(63), '0'.repeat(65), '/'.repeat(64), ':'.repeat(64), '`'.repeat(64), 42, null]) {
    assert.equal(isSha256Hex(bad), false, String(bad));
  }
});
