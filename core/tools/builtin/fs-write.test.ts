import assert from 'node:assert/strict';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { ToolRegistry } from '../registry.ts';
import type { ToolResult } from '../tool.ts';
import { createFsWriteTool } from './fs-write.ts';

function setUp() {
  const context = toolContext();
  const registry = new ToolRegistry();
  registry.register(createFsWriteTool({ maxWriteBytes: 32 }));
  return { context, ws: context.workspace, write: (input: unknown) => registry.invoke('fs.write', input, context) };
}

const outputOf = (r: ToolResult) => (r.ok ? r.output : r.error);

test('create, overwrite and append, creating missing parent directories', async () => {
  const { ws, write } = setUp();
  assert.deepEqual(outputOf(await write({ path: 'a/b/c.txt', content: 'one\n', mode: 'create' })), { path: 'a/b/c.txt', mode: 'create', bytes: 4, created: true });
  assert.deepEqual(outputOf(await write({ path: 'a/b/c.txt', content: 'two\n', mode: 'append' })), { path: 'a/b/c.txt', mode: 'append', bytes: 4, created: false });
  assert.equal(readFileSync(join(ws, 'a/b/c.txt'), 'utf8'), 'one\ntwo\n');
  assert.deepEqual(outputOf(await write({ path: 'a/b/c.txt', content: 'é', mode: 'overwrite' })), { path: 'a/b/c.txt', mode: 'overwrite', bytes: 2, created: false });
  assert.equal(readFileSync(join(ws, 'a/b/c.txt'), 'utf8'), 'é');
  assert.deepEqual(outputOf(await write({ path: 'new.txt', content: '', mode: 'overwrite' })), { path: 'new.txt', mode: 'overwrite', bytes: 0, created: true });
  // No temporary file is left beside the target.
  assert.deepEqual(readdirSync(join(ws, 'a/b')), ['c.txt']);
});

test('create refuses an existing file; overwrite keeps the file mode', async () => {
  const { ws, write } = setUp();
  writeFileSync(join(ws, 'x.sh'), 'old');
  chmodSync(join(ws, 'x.sh'), 0o750);
  assert.deepEqual(outputOf(await write({ path: 'x.sh', content: 'new', mode: 'create' })), {
    code: 'PALYRA_TOOL_FAILED',
    message: 'Cannot write "x.sh": it exists already; use mode "overwrite" or "append"',
  });
  assert.equal(readFileSync(join(ws, 'x.sh'), 'utf8'), 'old');
  await write({ path: 'x.sh', content: 'new', mode: 'overwrite' });
  assert.equal(readFileSync(join(ws, 'x.sh'), 'utf8'), 'new');
  assert.equal(statSync(join(ws, 'x.sh')).mode & 0o777, 0o750);
});

test('bad input runs nothing: no file is created', async () => {
  const { ws, write } = setUp();
  const cases: [unknown, string][] = [
    [{ path: 'f.txt', content: 'x' }, 'Invalid input for "fs.write": /mode is required'],
    [{ path: 'f.txt', content: 'x', mode: 'truncate' }, 'Invalid input for "fs.write": /mode must be one of "create", "overwrite", "append"'],
    [{ path: 'f.txt', content: 42, mode: 'create' }, 'Invalid input for "fs.write": /content must be string'],
    [{ path: ['f.txt'], content: 'x', mode: 'create' }, 'Invalid input for "fs.write": /path must be string'],
    [{ path: 'f.txt', content: 'x'.repeat(33), mode: 'create' }, 'Invalid input for "fs.write": /content must NOT have more than 32 characters'],
    // 20 characters, 40 bytes: within the schema, over the byte cap.
    [{ path: 'f.txt', content: 'é'.repeat(20), mode: 'create' }, 'Invalid input for "fs.write": /content is 40 bytes; the limit is 32 bytes'],
    [{ path: 'f.txt', content: 'x'.repeat(300_000), mode: 'create' }, 'Invalid input for "fs.write": input is 300045 bytes; the limit is 65728 bytes'],
  ];
  for (const [input, message] of cases) {
    assert.deepEqual(outputOf(await write(input)), { code: 'PALYRA_TOOL_INPUT_INVALID', message });
  }
  assert.deepEqual(readdirSync(ws), []);
});

test('escapes are refused and nothing is written outside', async () => {
  const { context, ws, write } = setUp();
  writeFileSync(join(context.outside, 'target.txt'), 'original');
  writeFileSync(join(ws, 'inside.txt'), 'inside');
  symlinkSync(join(context.outside, 'target.txt'), join(ws, 'out-link.txt'));
  symlinkSync(join(ws, 'inside.txt'), join(ws, 'in-link.txt'));
  symlinkSync(context.outside, join(ws, 'out-dir'));
  const cases: [string, string][] = [
    ['../outside/target.txt', 'Path "../outside/target.txt" is refused: ".." segments are not allowed'],
    [join(context.outside, 'new.txt'), `Path "${join(context.outside, 'new.txt')}" is refused: it is an absolute path outside the workspace`],
    ['out-link.txt', 'Path "out-link.txt" is refused: it leads outside the workspace through a symbolic link'],
    ['out-dir/new.txt', 'Path "out-dir/new.txt" is refused: it leads outside the workspace through a symbolic link'],
    ['out-dir/sub/new.txt', 'Path "out-dir/sub/new.txt" is refused: it leads outside the workspace through a symbolic link'],
    // Even a link that stays inside is never written through.
    ['in-link.txt', 'Path "in-link.txt" is refused: it leads to "inside.txt" (through a symbolic link or another spelling of the workspace); ask for "inside.txt", the path policies judge'],
    ['.', 'Cannot write ".": it is the workspace itself'],
  ];
  for (const mode of ['create', 'overwrite', 'append']) {
    for (const [path, message] of cases) {
      assert.deepEqual(outputOf(await write({ path, content: 'pwned', mode })), { code: 'PALYRA_TOOL_FORBIDDEN', message }, `${mode} ${path}`);
    }
  }
  assert.equal(readFileSync(join(context.outside, 'target.txt'), 'utf8'), 'original');
  assert.deepEqual(readdirSync(context.outside), ['target.txt']);
  assert.equal(readFileSync(join(ws, 'inside.txt'), 'utf8'), 'inside');
  assert.ok(lstatSync(join(ws, 'in-link.txt')).isSymbolicLink());
});

test('a directory cannot be written', async () => {
  const { ws, write } = setUp();
  mkdirSync(join(ws, 'd'));
  for (const mode of ['overwrite', 'append']) {
    assert.deepEqual(outputOf(await write({ path: 'd', content: 'x', mode })), { code: 'PALYRA_TOOL_FAILED', message: 'Cannot write "d": it is a directory' });
  }
  assert.ok(existsSync(join(ws, 'd')) && statSync(join(ws, 'd')).isDirectory());
});

test('a path through an existing file is not a directory, in every mode', async () => {
  const { ws, write } = setUp();
  writeFileSync(join(ws, 'f.txt'), 'x');
  for (const mode of ['create', 'overwrite', 'append']) {
    for (const path of ['f.txt/x', 'f.txt/sub/x']) {
      assert.deepEqual(outputOf(await write({ path, content: 'a', mode })), { code: 'PALYRA_TOOL_FAILED', message: `Cannot write "${path}": ENOTDIR (not a directory)` }, `${mode} ${path}`);
    }
  }
  assert.equal(readFileSync(join(ws, 'f.txt'), 'utf8'), 'x');
});

test('append refuses a file with a second name (a hard link may lead outside); overwrite replaces the name, not the file behind it', async () => {
  const { context, ws, write } = setUp();
  const outside = join(context.outside, 'policy.cedar');
  writeFileSync(outside, 'forbid (principal, action, resource);\n');
  linkSync(outside, join(ws, 'notes.txt'));
  assert.deepEqual(outputOf(await write({ path: 'notes.txt', content: 'permit;\n', mode: 'append' })), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Path "notes.txt" is refused: the file has 2 hard links, and another of its names may lie outside the workspace (a copy of it can be used)',
  });
  assert.equal(readFileSync(outside, 'utf8'), 'forbid (principal, action, resource);\n');
  assert.deepEqual(outputOf(await write({ path: 'notes.txt', content: 'mine\n', mode: 'overwrite' })), { path: 'notes.txt', mode: 'overwrite', bytes: 5, created: false });
  assert.equal(readFileSync(outside, 'utf8'), 'forbid (principal, action, resource);\n');
  assert.equal(readFileSync(join(ws, 'notes.txt'), 'utf8'), 'mine\n');
  assert.equal(statSync(outside).nlink, 1);
});
