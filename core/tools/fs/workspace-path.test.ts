import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { assertOpenedInside, isInside, resolveWorkspacePath } from './workspace-path.ts';

function setUp() {
  const { workspace, outside } = toolContext();
  mkdirSync(join(workspace, 'src'));
  writeFileSync(join(workspace, 'src', 'a.txt'), 'a');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync(join(outside, 'secret.txt'), join(workspace, 'file-link'));
  symlinkSync(outside, join(workspace, 'dir-link'));
  symlinkSync(join(workspace, 'src'), join(workspace, 'src-link'));
  symlinkSync(join(outside, 'missing.txt'), join(workspace, 'dangling'));
  return { workspace, outside };
}

const refused = (message: string) => (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_TOOL_FORBIDDEN' && e.message === message;

test('paths inside resolve to real paths, relative to the root', async () => {
  const { workspace } = setUp();
  assert.deepEqual(await resolveWorkspacePath(workspace, 'src/a.txt'), {
    root: workspace,
    real: join(workspace, 'src', 'a.txt'),
    relative: 'src/a.txt',
    exists: true,
    isSymlink: false,
  });
  assert.deepEqual(await resolveWorkspacePath(workspace, join(workspace, 'new', 'deep', 'b.txt')), {
    root: workspace,
    real: join(workspace, 'new', 'deep', 'b.txt'),
    relative: 'new/deep/b.txt',
    exists: false,
    isSymlink: false,
  });
  assert.equal((await resolveWorkspacePath(workspace, '.')).relative, '.');
  assert.equal((await resolveWorkspacePath(workspace, './src/')).relative, 'src');
  // Other spellings of the same path are its plain form, the one policies judge.
  for (const spelling of ['./src/a.txt', 'src//a.txt', 'src/./a.txt', join(workspace, 'src', '.', 'a.txt')]) {
    assert.equal((await resolveWorkspacePath(workspace, spelling)).relative, 'src/a.txt', spelling);
  }
  // A symlink that stays inside names a file policies did not judge: ask for the file itself.
  for (const viaLink of ['src-link/a.txt', 'src-link']) {
    const target = viaLink === 'src-link' ? 'src' : 'src/a.txt';
    await assert.rejects(resolveWorkspacePath(workspace, viaLink), {
      code: 'PALYRA_TOOL_FORBIDDEN',
      message: `Path "${viaLink}" is refused: it leads to "${target}" (through a symbolic link or another spelling of the workspace); ask for "${target}", the path policies judge`,
    });
  }
});

test('escapes are refused: "..", absolute paths outside, symlinks out (file, directory, parent, dangling)', async () => {
  const { workspace, outside } = setUp();
  const cases: [string, string][] = [
    ['../outside/secret.txt', 'Path "../outside/secret.txt" is refused: ".." segments are not allowed'],
    ['src/../../outside', 'Path "src/../../outside" is refused: ".." segments are not allowed'],
    ['src/../a.txt', 'Path "src/../a.txt" is refused: ".." segments are not allowed'],
    ['..', 'Path ".." is refused: ".." segments are not allowed'],
    ['/etc/passwd', 'Path "/etc/passwd" is refused: it is an absolute path outside the workspace'],
    [join(outside, 'secret.txt'), `Path "${join(outside, 'secret.txt')}" is refused: it is an absolute path outside the workspace`],
    [`${workspace}-sibling/x`, `Path "${workspace}-sibling/x" is refused: it is an absolute path outside the workspace`],
    ['file-link', 'Path "file-link" is refused: it leads outside the workspace through a symbolic link'],
    ['dir-link', 'Path "dir-link" is refused: it leads outside the workspace through a symbolic link'],
    ['dir-link/secret.txt', 'Path "dir-link/secret.txt" is refused: it leads outside the workspace through a symbolic link'],
    ['dir-link/new/file.txt', 'Path "dir-link/new/file.txt" is refused: it leads outside the workspace through a symbolic link'],
    ['dangling', `Path "dangling" is refused: "dangling" is a symbolic link to "${join(outside, 'missing.txt')}", which does not resolve`],
    ['a\0b', 'Path "a\0b" is refused: it contains a NUL byte'],
  ];
  for (const [path, message] of cases) await assert.rejects(resolveWorkspacePath(workspace, path), refused(message), path);
});

test('isInside compares whole segments', () => {
  assert.deepEqual(
    [isInside('/w', '/w'), isInside('/w', '/w/a'), isInside('/w', '/wx'), isInside('/w', '/'), isInside('/w', '/w/..a')],
    [true, true, false, false, true],
  );
});

test('a descriptor that was opened outside is refused, one opened inside passes', { skip: process.platform !== 'linux' && 'checks /proc/self/fd' }, async () => {
  const { workspace } = setUp();
  // What a swap between check and open leaves behind: a descriptor whose real file lies outside.
  const escaped = await open(join(workspace, 'dir-link', 'secret.txt'), 'r');
  const inside = await open(join(workspace, 'src-link', 'a.txt'), 'r');
  try {
    await assert.rejects(
      assertOpenedInside(workspace, escaped.fd, 'dir-link/secret.txt'),
      refused('Path "dir-link/secret.txt" is refused: it moved outside the workspace while being opened'),
    );
    await assertOpenedInside(workspace, inside.fd, 'src-link/a.txt');
  } finally {
    await escaped.close();
    await inside.close();
  }
});
