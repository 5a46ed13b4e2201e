import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import { JournalStore, readRecords } from '../journal/index.ts';
import { memoryStoreConformance } from '../tools/memory/memory-store-conformance.ts';
import { createJournalMemoryStore, openJournalMemoryStore } from './journal-memory-store.ts';

memoryStoreConformance('journal-backed store', async (clock) => {
  const { store } = await freshJournal();
  return openJournalMemoryStore(store, { clock });
});

test('notes are durable: they come back after a restart, deletions too, and secrets never reach the journal', async () => {
  const { store, options } = await freshJournal();
  const memory = openJournalMemoryStore(store);
  const kept = await memory.put({ text: 'The staging database is db-2', tags: ['Infra'], sessionId: 's1' });
  const gone = await memory.put({ text: 'Lunch is at noon', tags: [], sessionId: null });
  await memory.put({ text: 'the token is sk-live-abcdefghijklmnopqrstuvwx1234', tags: [], sessionId: null });
  assert.equal(await memory.delete(gone.id), true);
  assert.equal(await memory.delete('mem_none'), false, 'deleting nothing writes nothing');
  await store.close();
  const raw = [...readRecords(options.dir + '/segments')].map((l) => l.record.payloadJson).join('\n');
  assert.ok(!raw.includes('sk-live-abcdefghijklmnopqrstuvwx1234'), 'the redactor ran on the note');

  const reopened = await JournalStore.open(options);
  const again = openJournalMemoryStore(reopened);
  const hits = await again.search('staging database', { limit: 5 });
  assert.deepEqual(hits.map((h) => [h.id, h.text, h.tags]), [[kept.id, 'The staging database is db-2', ['infra']]], 'same id, text and tags');
  assert.deepEqual(await again.search('lunch', { limit: 5 }), [], 'a deleted note stays deleted');
  const token = await again.search('token', { limit: 5 });
  assert.equal(token.length, 1);
  assert.ok(!token[0]?.text.includes('sk-live'), `remembered without the secret: ${token[0]?.text}`);
  assert.equal(await again.delete(kept.id), true, 'a replayed note can be deleted');
  await reopened.close();
});

test('a note is searchable live exactly as it was journaled: redacted, the same as after a restart', async () => {
  const { store, options } = await freshJournal();
  const memory = openJournalMemoryStore(store);
  const put = await memory.put({ text: 'the token is sk-live-abcdefghijklmnopqrstuvwx1234', tags: ['creds'], sessionId: null });
  assert.ok(!put.text.includes('sk-live'), `put returns what was stored: ${put.text}`);
  const live = await memory.search('token', { limit: 5 });
  assert.deepEqual(live, [{ id: put.id, text: put.text, tags: ['creds'], score: 1 }]);
  await store.close();
  const reopened = await JournalStore.open(options);
  assert.deepEqual(await openJournalMemoryStore(reopened).search('token', { limit: 5 }), live);
  await reopened.close();
});

test('deleting a note evicted beyond maxRecords writes nothing and says false', async () => {
  const { store, options } = await freshJournal();
  const memory = openJournalMemoryStore(store, { maxRecords: 2 });
  const evicted = await memory.put({ text: 'alpha one', tags: [], sessionId: null });
  await memory.put({ text: 'alpha two', tags: [], sessionId: null });
  await memory.put({ text: 'alpha three', tags: [], sessionId: null });
  assert.deepEqual(await memory.search('one', { limit: 5 }), []);
  assert.equal(await memory.delete(evicted.id), false);
  await store.close();
  const kinds = [...readRecords(options.dir + '/segments')].map((l) => l.record.kind).filter((k) => k.startsWith('memory.'));
  assert.deepEqual(kinds, ['memory.stored', 'memory.stored', 'memory.stored']);
});

test('fed by the gateway\'s one pass over the log, the store comes back as openJournalMemoryStore would', async () => {
  const { store, options } = await freshJournal();
  const first = openJournalMemoryStore(store);
  await first.put({ text: 'The release train leaves on Thursday', tags: ['release'], sessionId: null });
  await store.close();
  const reopened = await JournalStore.open(options);
  const memory = createJournalMemoryStore(reopened);
  assert.deepEqual(await memory.search('release', { limit: 5 }), [], 'nothing until it is fed');
  const { ApprovalRegistry, builtinPolicySet } = await import('../policy/index.ts');
  const { createScriptedProvider, DEFAULT_SCRIPT } = await import('../providers/index.ts');
  const { ToolRegistry } = await import('../tools/index.ts');
  const { GatewayRuntimeState } = await import('./gateway-runtime.ts');
  const set = await builtinPolicySet();
  GatewayRuntimeState.open({
    journal: reopened,
    provider: createScriptedProvider(DEFAULT_SCRIPT),
    model: 'scripted',
    tools: new ToolRegistry(),
    stateDir: options.dir,
    defaultWorkspace: options.dir,
    policies: () => set,
    approvals: new ApprovalRegistry({ clock: { now: () => Date.now() } }),
    memory,
    journalReaders: [(record) => memory.replay(record)],
  });
  assert.deepEqual((await memory.search('release train', { limit: 5 })).map((h) => h.text), ['The release train leaves on Thursday']);
  await reopened.close();
});
