import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openWorkspaceDir } from './pinned-dir.ts';

const linuxOnly = { skip: process.platform !== 'linux' ? 'descriptors are pinned through /proc/self/fd on Linux only' : false };

function setup(): { ws: string; outside: string; done: () => void } {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'palyra-pinned-')));
  const ws = join(base, 'ws');
  const outside = join(base, 'outside');
  mkdirSync(ws);
  mkdirSync(outside);
  return { ws, outside, done: () => rmSync(base, { recursive: true, force: true }) };
}

async function createIn(entry: string, text: string): Promise<void> {
  const handle = await open(entry, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  await handle.writeFile(text);
  await handle.close();
}

// First in this file on purpose: the first call decides, once per process, whether
// descriptors can be pinned; a workspace missing at that moment must not turn pinning off
// for the calls after it (the swap tests below fail if it does).
test('a missing workspace is an error of its own and leaves pinning on', linuxOnly, async () => {
  const { ws, done } = setup();
  try {
    await assert.rejects(openWorkspaceDir(join(ws, 'not-there'), 'a', { create: true, requested: 'a/x' }), { code: 'ENOENT' });
  } finally {
    done();
  }
});

test('creates the missing directories and reaches names in the directory it opened', linuxOnly, async () => {
  const { ws, done } = setup();
  try {
    const dir = await openWorkspaceDir(ws, 'a/b/c', { create: true, requested: 'a/b/c/x.txt' });
    await createIn(dir.entry('x.txt'), 'one');
    await rename(dir.entry('x.txt'), dir.entry('y.txt'));
    await dir.close();
    assert.equal(readFileSync(join(ws, 'a/b/c/y.txt'), 'utf8'), 'one');
    assert.deepEqual(readdirSync(join(ws, 'a/b/c')), ['y.txt']);
  } finally {
    done();
  }
});

test('a directory swapped for a symlink after it was opened cannot redirect what is created in it', linuxOnly, async () => {
  const { ws, outside, done } = setup();
  try {
    mkdirSync(join(ws, 'a/b'), { recursive: true });
    mkdirSync(join(outside, 'b'));
    const dir = await openWorkspaceDir(ws, 'a/b', { create: false, requested: 'a/b/x.txt' });
    // What a process in the workspace racing the tool would do: move the directory away
    // and leave a link to somewhere else in its place.
    renameSync(join(ws, 'a'), join(ws, 'a-moved'));
    symlinkSync(outside, join(ws, 'a'));
    await createIn(dir.entry('x.txt'), 'stays inside');
    await dir.close();
    assert.equal(existsSync(join(outside, 'b/x.txt')), false, 'nothing was created outside');
    assert.equal(readFileSync(join(ws, 'a-moved/b/x.txt'), 'utf8'), 'stays inside');
  } finally {
    done();
  }
});

test('a symlink met on the way is refused, and nothing is created where it points', linuxOnly, async () => {
  const { ws, outside, done } = setup();
  try {
    symlinkSync(outside, join(ws, 'a'));
    await assert.rejects(openWorkspaceDir(ws, 'a/b', { create: true, requested: 'a/b/x.txt' }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'PALYRA_TOOL_FORBIDDEN');
      assert.match(error.message, /Path "a\/b\/x\.txt" is refused: "a" on its way became a symbolic link/);
      return true;
    });
    assert.deepEqual(readdirSync(outside), [], 'no directory was made outside');
  } finally {
    done();
  }
});

test('a file on the way fails as mkdir would (ENOTDIR); a missing directory without create is ENOENT', linuxOnly, async () => {
  const { ws, done } = setup();
  try {
    writeFileSync(join(ws, 'f.txt'), 'x');
    await assert.rejects(openWorkspaceDir(ws, 'f.txt/sub', { create: true, requested: 'f.txt/sub/x' }), { code: 'ENOTDIR' });
    await assert.rejects(openWorkspaceDir(ws, 'missing', { create: false, requested: 'missing/x' }), { code: 'ENOENT' });
    assert.equal(existsSync(join(ws, 'missing')), false);
  } finally {
    done();
  }
});
