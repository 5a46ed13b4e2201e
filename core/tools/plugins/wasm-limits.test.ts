import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readWasmStorage } from './wasm-limits.ts';
import { compileWat } from './test-support.ts';

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

test('declared memory and table limits are read from the binary', async () => {
  const bytes = await compileWat('(module (memory 1 2) (table 3 funcref) (func) (export "m" (memory 0)))');
  assert.deepEqual(readWasmStorage(bytes), { memories: [{ min: 1, max: 2 }], tables: [{ min: 3, max: null }] });
  assert.deepEqual(readWasmStorage(await compileWat('(module (memory 300 65536))')), { memories: [{ min: 300, max: 65536 }], tables: [] });
  assert.deepEqual(readWasmStorage(await compileWat('(module (memory 1))')), { memories: [{ min: 1, max: null }], tables: [] });
});

test('shared and 64-bit memories are refused', () => {
  // Memory section: id 5, size 4, one memory, flags, min 1, max 1.
  assert.throws(() => readWasmStorage(Uint8Array.from([...HEADER, 5, 4, 1, 0x03, 1, 1])), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'declares a memory with limit flags 0x3 (shared, 64-bit or custom pages), which this host does not run',
  });
  assert.throws(() => readWasmStorage(Uint8Array.from([...HEADER, 5, 3, 1, 0x04, 1])), { code: 'PALYRA_TOOL_FORBIDDEN' });
});

test('malformed binaries are failures, never out-of-range reads', () => {
  for (const bytes of [[], [1, 2, 3], [...HEADER, 5, 9, 1, 0], [...HEADER, 5, 2, 1, 1], [...HEADER, 5, 6, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x7f]]) {
    assert.throws(() => readWasmStorage(Uint8Array.from(bytes)), { code: 'PALYRA_TOOL_FAILED' }, JSON.stringify(bytes));
  }
});
