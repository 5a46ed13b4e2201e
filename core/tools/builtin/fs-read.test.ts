import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { ToolRegistry } from '../registry.ts';
import type { ToolResult } from '../tool.ts';
import { createFsReadTool } from './fs-read.ts';

function setUp() {
  const context = toolContext();
  const registry = new ToolRegistry();
  registry.register(createFsReadTool({ maxReadBytes: 64 }));
  writeFileSync(join(context.workspace, 'notes.txt'), 'héllo\n');
  writeFileSync(join(context.outside, 'secret.txt'), 'TOP SECRET');
  return { context, registry, read: (input: unknown) => registry.invoke('fs.read', input, context) };
}

const errorOf = (r: ToolResult) => (r.ok ? null : r.error);

test('reads a file as UTF-8, relative or absolute inside the workspace', async () => {
  const { context, read } = setUp();
  const expected = { path: 'notes.txt', content: 'héllo\n', encoding: 'utf8', bytes: 7, size: 7, truncated: false };
  const { durationMs: _, ...relative } = await read({ path: 'notes.txt' });
  assert.deepEqual(relative, { ok: true, tool: 'fs.read', output: expected, receipt: relative.receipt });
  assert.match(relative.receipt, /^[0-9a-f]{64}$/);
  const absolute = await read({ path: join(context.workspace, 'notes.txt') });
  assert.deepEqual(absolute.ok ? absolute.output : null, expected);
});

test('caps at maxBytes, marks truncation and never cuts a character in half', async () => {
  const { context, read } = setUp();
  writeFileSync(join(context.workspace, 'long.txt'), 'aé'.repeat(40)); // 120 bytes
  const capped = await read({ path: 'long.txt' });
  assert.deepEqual(capped.ok ? capped.output : null, { path: 'long.txt', content: 'aé'.repeat(21) + 'a', encoding: 'utf8', bytes: 64, size: 120, truncated: true });
  const two = await read({ path: 'long.txt', maxBytes: 2 });
  assert.deepEqual(two.ok ? two.output : null, { path: 'long.txt', content: 'a', encoding: 'utf8', bytes: 2, size: 120, truncated: true });
});

test('binary content comes back as base64', async () => {
  const { context, read } = setUp();
  writeFileSync(join(context.workspace, 'bin'), Buffer.from([0xff, 0x00, 0xfe]));
  const r = await read({ path: 'bin' });
  assert.deepEqual(r.ok ? r.output : null, { path: 'bin', content: '/wD+', encoding: 'base64', bytes: 3, size: 3, truncated: false });
});

test('bad input is refused before anything is read', async () => {
  const { read } = setUp();
  const cases: [unknown, string][] = [
    [{}, '/path is required'],
    [{ path: 7 }, '/path must be string'],
    [{ path: '' }, '/path must NOT have fewer than 1 characters'],
    [{ path: 'notes.txt', maxBytes: 65 }, '/maxBytes must be <= 64'],
    [{ path: 'notes.txt', maxBytes: '10' }, '/maxBytes must be integer'],
    [{ path: 'x'.repeat(5000) }, '/path must NOT have more than 4096 characters'],
    [{ path: 'a\0b' }, '/path must match pattern "^[^\\u0000]*$"'],
  ];
  for (const [input, problem] of cases) {
    assert.deepEqual(errorOf(await read(input)), { code: 'PALYRA_TOOL_INPUT_INVALID', message: `Invalid input for "fs.read": ${problem}` });
  }
});

test('escapes are refused: "..", absolute outside, symlinked file and directory', async () => {
  const { context, read } = setUp();
  symlinkSync(join(context.outside, 'secret.txt'), join(context.workspace, 'link.txt'));
  symlinkSync(context.outside, join(context.workspace, 'out'));
  const cases: [string, string][] = [
    ['../outside/secret.txt', '".." segments are not allowed'],
    [join(context.outside, 'secret.txt'), 'it is an absolute path outside the workspace'],
    ['link.txt', 'it leads outside the workspace through a symbolic link'],
    ['out/secret.txt', 'it leads outside the workspace through a symbolic link'],
  ];
  for (const [path, reason] of cases) {
    const r = await read({ path });
    assert.deepEqual(errorOf(r), { code: 'PALYRA_TOOL_FORBIDDEN', message: `Path "${path}" is refused: ${reason}` });
    assert.ok(!JSON.stringify(r).includes('TOP SECRET'));
  }
});

test('directories, missing files and FIFOs are refused without hanging', async () => {
  const { context, read } = setUp();
  mkdirSync(join(context.workspace, 'dir'));
  execFileSync('mkfifo', [join(context.workspace, 'pipe')]);
  assert.deepEqual(errorOf(await read({ path: 'dir' })), { code: 'PALYRA_TOOL_FAILED', message: 'Cannot read "dir": it is a directory; use fs.list' });
  assert.deepEqual(errorOf(await read({ path: 'nope.txt' })), { code: 'PALYRA_TOOL_FAILED', message: 'Cannot read "nope.txt": it does not exist' });
  assert.deepEqual(errorOf(await read({ path: 'pipe' })), { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Cannot read "pipe": it is not a regular file' });
});

test('a file with a second name (a hard link, maybe to a file outside) is refused; its copy is read', async () => {
  const { context, read } = setUp();
  linkSync(join(context.outside, 'secret.txt'), join(context.workspace, 'linked.txt'));
  assert.deepEqual(errorOf(await read({ path: 'linked.txt' })), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: 'Path "linked.txt" is refused: the file has 2 hard links, and another of its names may lie outside the workspace (a copy of it can be used)',
  });
  execFileSync('cp', [join(context.workspace, 'linked.txt'), join(context.workspace, 'copy.txt')]);
  const copy = await read({ path: 'copy.txt' });
  assert.equal(copy.ok && (copy.output as { content: string }).content, 'TOP SECRET');
});
