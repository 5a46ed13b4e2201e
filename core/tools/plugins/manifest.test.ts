import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { parseManifest } from './manifest.ts';

const SHA = 'ab'.repeat(32);
const valid = {
  manifestVersion: 1,
  name: 'demo',
  version: '1.2.3',
  description: 'A demo.',
  module: 'demo.wasm',
  sha256: SHA,
  hostFunctions: ['log', 'now_ms'],
  limits: { memoryPages: 4 },
};

/** The error parseManifest throws for `value`, as plain data. */
function refusal(value: unknown, dir = 'demo'): { code: string; message: string; field: unknown } {
  try {
    parseManifest(value, dir);
  } catch (error) {
    assert.ok(error instanceof PalyraError);
    return { code: error.code, message: error.message, field: error.details?.field };
  }
  assert.fail('manifest was accepted');
}

test('a valid manifest parses, with defaults for input and timeoutMs', () => {
  assert.deepEqual(parseManifest(valid, 'demo'), { ...valid, input: null, limits: { memoryPages: 4, timeoutMs: 5000 } });
});

test('a bad field is refused with the field named', () => {
  assert.deepEqual(refusal({ ...valid, limits: { memoryPages: 'lots' } }), {
    code: 'PALYRA_TOOL_FAILED',
    message: 'Plugin "demo" manifest is invalid: field "limits.memoryPages" must be an integer from 1 to 65536 (64 KiB pages)',
    field: 'limits.memoryPages',
  });
  assert.equal(refusal({ ...valid, limits: { memoryPages: 4, timeoutMs: 0 } }).field, 'limits.timeoutMs');
  assert.equal(refusal({ ...valid, sha256: SHA.toUpperCase() }).field, 'sha256');
  assert.equal(refusal({ ...valid, version: 'latest' }).field, 'version');
  assert.equal(refusal({ ...valid, manifestVersion: 2 }).field, 'manifestVersion');
  assert.equal(refusal({ ...valid, input: [] }).field, 'input');
  assert.equal(refusal([]).field, '(root)');
});

test('unknown fields are refused, not ignored (a typo must not change the grants)', () => {
  assert.deepEqual(refusal({ ...valid, hostFunction: ['log'] }), {
    code: 'PALYRA_TOOL_FAILED',
    message: 'Plugin "demo" manifest is invalid: field "hostFunction" is not a known field',
    field: 'hostFunction',
  });
  assert.equal(refusal({ ...valid, limits: { memoryPages: 4, cpu: 1 } }).field, 'limits.cpu');
});

test('host functions must come from the fixed set, once each', () => {
  assert.deepEqual(refusal({ ...valid, hostFunctions: ['log', 'fs_read'] }), {
    code: 'PALYRA_TOOL_FAILED',
    message: 'Plugin "demo" manifest is invalid: field "hostFunctions[1]" must be one of log, now_ms, random_u32',
    field: 'hostFunctions[1]',
  });
  assert.equal(refusal({ ...valid, hostFunctions: ['log', 'log'] }).field, 'hostFunctions[1]');
});

test('the module is a bare .wasm file name and the name matches the directory', () => {
  for (const module of ['../evil.wasm', 'sub/demo.wasm', '/abs/demo.wasm', 'demo.wat', '.wasm']) {
    assert.equal(refusal({ ...valid, module }).field, 'module', module);
  }
  assert.deepEqual(refusal(valid, 'other'), {
    code: 'PALYRA_TOOL_FAILED',
    message: 'Plugin "other" manifest is invalid: field "name" must equal the directory name "other"',
    field: 'name',
  });
  assert.equal(refusal({ ...valid, name: '../demo' }, '../demo').field, 'name');
});
