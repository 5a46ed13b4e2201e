import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { createInMemoryMemoryStore } from '../memory/in-memory-store.ts';
import { manualClock } from '../memory/memory-store-conformance.ts';
import { ToolRegistry } from '../registry.ts';
import type { ToolResult } from '../tool.ts';
import { createMemoryTools } from './memory-tools.ts';

function setUp() {
  let n = 0;
  const store = createInMemoryMemoryStore({ clock: manualClock(), newId: () => `m${++n}` });
  const registry = new ToolRegistry();
  for (const tool of createMemoryTools(store, { maxResults: 5 })) registry.register(tool);
  const context = toolContext();
  return { store, call: (name: string, input: unknown) => registry.invoke(name, input, context) };
}

const outputOf = (r: ToolResult) => (r.ok ? r.output : r.error);

test('put, search and delete round-trip, with the session recorded', async () => {
  const { store, call } = setUp();
  assert.deepEqual(outputOf(await call('memory.put', { text: 'The staging database is db-2', tags: ['Infra'] })), { id: 'm1', tags: ['infra'] });
  assert.deepEqual(outputOf(await call('memory.put', { text: 'Lunch is at noon' })), { id: 'm2', tags: [] });
  assert.deepEqual(outputOf(await call('memory.search', { query: 'staging infra' })), {
    hits: [{ id: 'm1', text: 'The staging database is db-2', tags: ['infra'], score: 1 }],
    truncated: false,
  });
  assert.deepEqual(outputOf(await call('memory.delete', { id: 'm1' })), { id: 'm1', deleted: true });
  assert.deepEqual(outputOf(await call('memory.delete', { id: 'm1' })), { id: 'm1', deleted: false });
  assert.deepEqual(outputOf(await call('memory.search', { query: 'staging' })), { hits: [], truncated: false });
  // The tools pass the calling session to the store.
  const record = await store.put({ text: 'x', tags: [], sessionId: 'session-1' });
  assert.equal(record.sessionId, 'session-1');
});

test('bad input is refused and nothing is stored or deleted', async () => {
  const { store, call } = setUp();
  await store.put({ text: 'keep me', tags: [], sessionId: null });
  const cases: [string, unknown, string][] = [
    ['memory.put', { text: '' }, 'Invalid input for "memory.put": /text must NOT have fewer than 1 characters'],
    ['memory.put', { text: 'x'.repeat(8193) }, 'Invalid input for "memory.put": /text must NOT have more than 8192 characters'],
    ['memory.put', { text: 'x', tags: 'a' }, 'Invalid input for "memory.put": /tags must be array'],
    ['memory.put', { text: 'x', tags: Array(17).fill('t') }, 'Invalid input for "memory.put": /tags must NOT have more than 16 items'],
    ['memory.put', { text: 'x', tags: [1] }, 'Invalid input for "memory.put": /tags/0 must be string'],
    ['memory.search', { query: 'keep', limit: 6 }, 'Invalid input for "memory.search": /limit must be <= 5'],
    ['memory.search', { q: 'keep' }, 'Invalid input for "memory.search": /query is required'],
    ['memory.delete', { id: 7 }, 'Invalid input for "memory.delete": /id must be string'],
  ];
  for (const [name, input, message] of cases) assert.deepEqual(outputOf(await call(name, input)), { code: 'PALYRA_TOOL_INPUT_INVALID', message });
  assert.deepEqual((await store.search('keep me x', { limit: 10 })).map((h) => h.text), ['keep me']);
});

test('search stops adding hits before the output cap and says truncated', async () => {
  let n = 0;
  const registry = new ToolRegistry();
  for (const tool of createMemoryTools(createInMemoryMemoryStore({ clock: manualClock(), newId: () => `m${++n}` }))) registry.register(tool);
  const context = toolContext();
  // 50 notes of 8000 CJK characters: 3 bytes each in UTF-8, ~1.2 MB together.
  for (let i = 0; i < 50; i++) assert.ok((await registry.invoke('memory.put', { text: `deploy ${'漢'.repeat(8000)}` }, context)).ok);
  const result = await registry.invoke('memory.search', { query: 'deploy', limit: 50 }, context);
  assert.ok(result.ok, JSON.stringify(outputOf(result)));
  const output = result.output as { hits: { id: string }[]; truncated: boolean };
  // Each hit is ~24 KB of JSON, so 43 fit in 1 MiB (same score and time: in id order).
  assert.deepEqual({ count: output.hits.length, first: output.hits[0]?.id, truncated: output.truncated }, { count: 43, first: 'm1', truncated: true });
});
