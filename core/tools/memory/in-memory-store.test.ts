import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createInMemoryMemoryStore, terms } from './in-memory-store.ts';
import { manualClock, memoryStoreConformance } from './memory-store-conformance.ts';

memoryStoreConformance('in-memory store', (clock) => createInMemoryMemoryStore({ clock }));

test('terms are lowercase words of any script', () => {
  assert.deepEqual([...terms('Grüße, WORLD! 42 — grüße')], ['grüße', 'world', '42']);
});

test('the oldest records go first beyond maxRecords', async () => {
  let n = 0;
  const store = createInMemoryMemoryStore({ clock: manualClock(), maxRecords: 2, newId: () => `id${++n}` });
  await store.put({ text: 'one note', tags: [], sessionId: null });
  await store.put({ text: 'two note', tags: [], sessionId: null });
  await store.put({ text: 'three note', tags: [], sessionId: null });
  assert.deepEqual((await store.search('note', { limit: 10 })).map((h) => h.id).sort(), ['id2', 'id3']);
  assert.deepEqual(['id1', 'id2', 'id3'].map((id) => store.has(id)), [false, true, true], 'an evicted record is not held');
  await store.delete('id2');
  assert.equal(store.has('id2'), false);
});
