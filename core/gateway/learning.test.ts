import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import { openJournalMemoryStore } from './journal-memory-store.ts';
import { learn, marksOf } from './learning.ts';
import type { ChatMessage } from '../providers/index.ts';

test('a fact held word for word is not stored again, even when a longer note with the same words ranks first', async () => {
  const { store: journal } = await freshJournal();
  const store = openJournalMemoryStore(journal);
  try {
    await learn(store, [{ text: 'Deploys happen on Tuesdays', tags: [] }], 'ses_1');
    await learn(store, [{ text: 'Deploys happen on Tuesdays and Fridays', tags: [] }], 'ses_1');
    const stored = await learn(store, [{ text: 'Deploys happen on Tuesdays', tags: [] }], 'ses_1');
    assert.deepEqual(stored, []);
    const texts = (await store.search('deploys happen on tuesdays', { limit: 10 })).map((h) => h.text).sort();
    assert.deepEqual(texts, ['Deploys happen on Tuesdays', 'Deploys happen on Tuesdays and Fridays']);
  } finally {
    await journal.close();
  }
});

test('marksOf: only memory.remember calls that were answered without an error are marks, in order, with their string tags', () => {
  const messages: ChatMessage[] = [
    { role: 'user', content: 'remember things' },
    {
      role: 'assistant',
      content: null,
      toolCalls: [
        { id: 'c1', name: 'memory.remember', arguments: { text: 'kept', tags: ['ops', 7, 'x'] } },
        { id: 'c2', name: 'memory.remember', arguments: { text: 'refused' } },
        { id: 'c3', name: 'memory.remember', arguments: { text: 'never answered' } },
        { id: 'c4', name: 'echo', arguments: { text: 'not a mark' } },
        { id: 'c5', name: 'memory.remember', arguments: { tags: ['no text'] } },
      ],
    },
    { role: 'tool', toolCallId: 'c1', name: 'memory.remember', content: '{"ok":true}' },
    { role: 'tool', toolCallId: 'c2', name: 'memory.remember', content: 'PALYRA_POLICY_DENIED: no', isError: true },
    { role: 'tool', toolCallId: 'c4', name: 'echo', content: '{"text":"not a mark"}' },
    { role: 'tool', toolCallId: 'c5', name: 'memory.remember', content: '{"ok":true}' },
    { role: 'assistant', content: null, toolCalls: [{ id: 'c6', name: 'memory.remember', arguments: { text: 'later' } }] },
    { role: 'tool', toolCallId: 'c6', name: 'memory.remember', content: '{"ok":true}' },
  ];
  assert.deepEqual(marksOf(messages), [
    { text: 'kept', tags: ['ops', 'x'] },
    { text: 'later', tags: [] },
  ]);
});
