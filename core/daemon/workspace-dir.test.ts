import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { checkWorkspace, createWorkspace } from './workspace-dir.ts';

test('a workspace that exists or can be created passes; creating it makes a 0700 folder', () => {
  const dir = tempDir();
  checkWorkspace(dir);
  const nested = join(dir, 'a', 'b', 'ws');
  checkWorkspace(nested);
  createWorkspace(nested);
  assert.equal(statSync(nested).mode & 0o777, 0o700);
});

test('a file in the way is named, before anything is created', () => {
  const dir = tempDir();
  const file = join(dir, 'afile');
  writeFileSync(file, 'x');
  assert.throws(() => checkWorkspace(join(file, 'ws')), { code: 'PALYRA_IO', message: `Cannot use tools.workspace "${join(file, 'ws')}": "${file}" is a file, not a folder` });
  assert.throws(() => checkWorkspace(file), { code: 'PALYRA_IO', message: `Cannot use tools.workspace "${file}": it is not a folder` });
  assert.throws(() => createWorkspace(join(file, 'ws')), { code: 'PALYRA_IO', message: `Cannot use tools.workspace "${join(file, 'ws')}": ENOTDIR` });
});
