import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { createFileExclusive, writeFileAtomic } from './atomic-write.ts';

test('createFileExclusive creates a whole 0600 file once, never replaces one, and leaves no temporary file', () => {
  const dir = tempDir();
  const path = join(dir, 'key');
  assert.equal(createFileExclusive(path, 'first'), true);
  assert.equal(createFileExclusive(path, 'second'), false, 'a file that exists is kept');
  assert.equal(readFileSync(path, 'utf8'), 'first');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['key']);
});

test('writeFileAtomic replaces the content whole and leaves no temporary file', () => {
  const dir = tempDir();
  const path = join(dir, 'policy.cedar');
  writeFileAtomic(path, 'one');
  writeFileAtomic(path, 'two');
  assert.equal(readFileSync(path, 'utf8'), 'two');
  assert.deepEqual(readdirSync(dir), ['policy.cedar']);
});
