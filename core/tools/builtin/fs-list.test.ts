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

test('a listing stops at the output cap and says truncated when names are long and escaped', async () => {
  const context = toolContext();
  const registry = new ToolRegistry();
  registry.register(createFsListTool());
  mkdirSync(join(context.workspace, 'd'));
  // Each name escapes to ~1.2 KB of JSON (\u0001 is six bytes): 1000 of them pass 1 MiB.
  const names = Array.from({ length: 1000 }, (_, i) => String(i).padStart(4, '0') + '\u0001'.repeat(200));
  for (const name of names) writeFileSync(join(context.workspace, 'd', name), '');
  const result = await registry.invoke('fs.list', { path: 'd' }, context);
  assert.ok(result.ok, JSON.stringify(outputOf(result)));
  const output = result.output as { entries: { path: string }[]; truncated: boolean };
  // 1 MiB holds 844 entries of 1241 bytes (comma included): the first names in order.
  assert.deepEqual(
    { count: output.entries.length, last: output.entries.at(-1)?.path, truncated: output.truncated },
    { count: 844, last: `d/${names[843]}`, truncated: true },
  );
});
