import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinTools } from '../core/policy/index.ts';
import { createBuiltinRegistry, createInMemoryMemoryStore } from '../core/tools/index.ts';
import { tempDir } from './helpers/temp-dir.ts';

// core/policy keeps its own copy of how built-in tools describe themselves (it may not
// import core/tools); this holds the two together.
test('every built-in tool describes itself to policy exactly as its definition does', () => {
  const registry = createBuiltinRegistry({ stateDir: tempDir(), memoryStore: createInMemoryMemoryStore(), process: { allowedExecutables: [] } });
  const fromTools = registry.list().map((t) => ({ name: t.name, capabilities: [...t.capabilities].sort(), risk: t.risk }));
  const fromPolicy = builtinTools().map((t) => ({ name: t.name, capabilities: [...t.capabilities].sort(), risk: t.risk }));
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  assert.deepEqual(fromTools.sort(byName), [...fromPolicy].sort(byName));
});
