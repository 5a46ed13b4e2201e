import assert from 'node:assert/strict';
import { test } from 'node:test';
import { completeUtf8Length, decodeForModel, decodeLenient } from './capped-text.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

test('a cut never leaves half a character', () => {
  const text = bytes('aé€😀'); // 1 + 2 + 3 + 4 bytes
  const cuts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => completeUtf8Length(text.subarray(0, n)));
  assert.deepEqual(cuts, [1, 1, 3, 3, 3, 6, 6, 6, 6, 10]);
  assert.deepEqual(decodeForModel(text.subarray(0, 8), true), { text: 'aé€', encoding: 'utf8' });
  assert.equal(decodeLenient(text.subarray(0, 8), true), 'aé€');
  // Uncut invalid bytes are not hidden: base64 for a model, U+FFFD for process output.
  assert.deepEqual(decodeForModel(new Uint8Array([0x61, 0xe2, 0x82]), false), { text: 'YeKC', encoding: 'base64' });
  assert.equal(decodeLenient(new Uint8Array([0x61, 0xff]), false), 'a\uFFFD');
});
