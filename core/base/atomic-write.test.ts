import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { createFileExclusive, mkdirDurable, writeFileAtomic } from './atomic-write.ts';

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

test('mkdirDurable creates the missing folders with mode 0700 and leaves an existing one alone', () => {
  const root = tempDir('palyra-mkdir-');
  const deep = join(root, 'a', 'b', 'c');
  mkdirDurable(deep);
  for (const dir of [join(root, 'a'), join(root, 'a', 'b'), deep]) assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
  chmodSync(deep, 0o750);
  mkdirDurable(deep);
  assert.equal(statSync(deep).mode & 0o777, 0o750, 'an existing folder keeps its mode');
  writeFileSync(join(root, 'file'), 'x');
  assert.throws(() => mkdirDurable(join(root, 'file', 'sub')), { code: 'ENOTDIR' });
});
