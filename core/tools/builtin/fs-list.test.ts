import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { ToolRegistry } from '../registry.ts';
import type { ToolResult } from '../tool.ts';
import { createFsListTool } from './fs-list.ts';

function setUp() {
  const context = toolContext();
  const ws = context.workspace;
  const registry = new ToolRegistry();
  registry.register(createFsListTool({ maxEntries: 10 }));
  mkdirSync(join(ws, 'src', 'lib'), { recursive: true });
  writeFileSync(join(ws, 'README.md'), 'hello');
  writeFileSync(join(ws, 'src', 'main.ts'), 'x');
  writeFileSync(join(ws, 'src', 'lib', 'util.ts'), 'xy');
  writeFileSync(join(context.outside, 'secret.txt'), 's');
  symlinkSync(context.outside, join(ws, 'out'));
  return { context, list: (input: unknown) => registry.invoke('fs.list', input, context) };
}

const outputOf = (r: ToolResult) => (r.ok ? r.output : r.error);

test('lists one directory sorted by name, symlinks as symlinks', async () => {
  const { list } = setUp();
  assert.deepEqual(outputOf(await list({ path: '.' })), {
    path: '.',
    entries: [
      { path: 'README.md', type: 'file', size: 5 },
      { path: 'out', type: 'symlink' },
      { path: 'src', type: 'dir' },
    ],
    truncated: false,
  });
});

test('recursive listing is breadth-first and never follows symlinks', async () => {
  const { list } = setUp();
  assert.deepEqual(outputOf(await list({ path: '.', recursive: true })), {
    path: '.',
    entries: [
      { path: 'README.md', type: 'file', size: 5 },
      { path: 'out', type: 'symlink' },
      { path: 'src', type: 'dir' },
      { path: 'src/lib', type: 'dir' },
      { path: 'src/main.ts', type: 'file', size: 1 },
      { path: 'src/lib/util.ts', type: 'file', size: 2 },
    ],
    truncated: false,
  });
  assert.deepEqual(outputOf(await list({ path: 'src', recursive: true, maxEntries: 2 })), {
    path: 'src',
    entries: [
      { path: 'src/lib', type: 'dir' },
      { path: 'src/main.ts', type: 'file', size: 1 },
    ],
    truncated: true,
  });
});

test('bad input and escapes are refused', async () => {
  const { context, list } = setUp();
  const cases: [unknown, { code: string; message: string }][] = [
    [{}, { code: 'PALYRA_TOOL_INPUT_INVALID', message: 'Invalid input for "fs.list": /path is required' }],
    [{ path: '.', recursive: 'yes' }, { code: 'PALYRA_TOOL_INPUT_INVALID', message: 'Invalid input for "fs.list": /recursive must be boolean' }],
    [{ path: '.', maxEntries: 11 }, { code: 'PALYRA_TOOL_INPUT_INVALID', message: 'Invalid input for "fs.list": /maxEntries must be <= 10' }],
    [{ path: '..' }, { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Path ".." is refused: ".." segments are not allowed' }],
    [{ path: context.outside }, { code: 'PALYRA_TOOL_FORBIDDEN', message: `Path "${context.outside}" is refused: it is an absolute path outside the workspace` }],
    [{ path: 'out' }, { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Path "out" is refused: it leads outside the workspace through a symbolic link' }],
    [{ path: 'README.md' }, { code: 'PALYRA_TOOL_FAILED', message: 'Cannot list "README.md": it is not a directory' }],
    [{ path: 'nope' }, { code: 'PALYRA_TOOL_FAILED', message: 'Cannot list "nope": it does not exist' }],
  ];
  for (const [input, error] of cases) assert.deepEqual(outputOf(await list(input)), error, JSON.stringify(input));
});
